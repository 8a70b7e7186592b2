"""The push loop each worker runs: drain the outbox every ``push_interval_s`` (0 turns it off), and look for
alerts due every ``alert_scan_interval_s``."""

from __future__ import annotations

import asyncio
import logging
import time

from member_api.core.clock import local_today
from member_api.core.context import AppContext
from member_api.notices.service import OutboxPolicy, deliver_pending, scan_alerts

log = logging.getLogger("member_api.notices")


async def run(ctx: AppContext) -> None:
    interval = ctx.settings.push_interval_s
    next_scan = 0.0
    while interval > 0:
        try:
            if ctx.settings.alert_scan_interval_s > 0 and time.monotonic() >= next_scan:
                next_scan = time.monotonic() + ctx.settings.alert_scan_interval_s
                await scan_alerts(ctx.clock.now(), local_today(ctx.clock))
            await deliver_pending(ctx.push, ctx.clock.now(), OutboxPolicy.of(ctx.settings))
        except asyncio.CancelledError:
            raise
        except Exception:  # the database may be briefly unavailable: try again next round
            log.warning("push_delivery_failed")
        await asyncio.sleep(interval)
