"""The push loop each worker runs: drain undelivered notices every ``push_interval_s`` (0 turns it off)."""

from __future__ import annotations

import asyncio
import logging

from member_api.core.context import AppContext
from member_api.notices.service import deliver_pending

log = logging.getLogger("member_api.notices")


async def run(ctx: AppContext) -> None:
    interval = ctx.settings.push_interval_s
    while interval > 0:
        try:
            await deliver_pending(ctx.push, ctx.clock.now())
        except asyncio.CancelledError:
            raise
        except Exception:  # the database may be briefly unavailable: try again next round
            log.warning("push_delivery_failed")
        await asyncio.sleep(interval)
