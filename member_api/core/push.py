"""Push senders for member notices, pluggable like SMS: ``file:PATH`` (one JSON line per message), ``none``, and
``wechat`` (subscription messages; built by the notices area, which knows who has a WeChat user and a subscription).

A sender either returns (delivered), raises ``PushRetry`` (the channel failed for now: the outbox tries again later
with back-off) or ``PushSkipped`` (this notice cannot go through this channel: no WeChat user, no subscription
left; it stays readable in the app).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

import anyio

log = logging.getLogger("member_api.push")


@dataclass(frozen=True)
class OutgoingNotice:
    id: int
    recipient: int
    kind: str
    text_zh: str
    link: str
    created_at: datetime


class PushRetry(Exception):
    """The channel did not take the notice now (outage, slowness, its rate limit): try again later."""


class PushSkipped(Exception):
    """This notice cannot be pushed through the channel (the reason is the message); it stays in the app."""


class PushSender(Protocol):
    async def send(self, notice: OutgoingNotice, at: datetime) -> None: ...


class FilePushSender:
    """Development and tests: like a mail catcher, one line per delivered notice."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def _append(self, line: str) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    async def send(self, notice: OutgoingNotice, at: datetime) -> None:
        line = json.dumps(
            {
                "member_id": notice.recipient,
                "notice_id": notice.id,
                "kind": notice.kind,
                "text": notice.text_zh,
                "sent_at": at.isoformat(),
            },
            ensure_ascii=False,
        )
        await anyio.to_thread.run_sync(self._append, line + "\n")


class NoPushSender:
    """No push channel configured: notices stay readable in the app (GET /v1/me/notices)."""

    async def send(self, notice: OutgoingNotice, at: datetime) -> None:
        log.debug("push_backend_not_configured")


def make_push_sender(spec: str) -> PushSender:
    """``file:PATH`` or ``none``; ``wechat`` is made by the notices area (``notices.service.wechat_push``)."""
    if spec.startswith("file:"):
        return FilePushSender(Path(spec.removeprefix("file:")))
    if spec in ("none", "wechat"):
        return NoPushSender()
    raise ValueError("MEMBER_API_PUSH_BACKEND must be wechat, file:PATH or none")
