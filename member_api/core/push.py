"""Push senders for member notices, pluggable like SMS: the ``file`` backend appends one JSON line per message."""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Protocol

import anyio

log = logging.getLogger("member_api.push")


class PushSender(Protocol):
    async def send(self, recipient_member_id: int, text_zh: str, at: datetime) -> None: ...


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

    async def send(self, recipient_member_id: int, text_zh: str, at: datetime) -> None:
        line = json.dumps({"member_id": recipient_member_id, "text": text_zh, "sent_at": at.isoformat()})
        await anyio.to_thread.run_sync(self._append, line + "\n")


class NoPushSender:
    """No push channel configured: notices stay readable in the app (GET /v1/me/notices)."""

    async def send(self, recipient_member_id: int, text_zh: str, at: datetime) -> None:
        log.debug("push_backend_not_configured")


def make_push_sender(spec: str) -> PushSender:
    if spec.startswith("file:"):
        return FilePushSender(Path(spec.removeprefix("file:")))
    if spec == "none":
        return NoPushSender()
    raise ValueError("MEMBER_API_PUSH_BACKEND must be file:PATH or none")
