"""SMS senders. The ``file`` backend appends one JSON line per message (development and tests)."""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Protocol

import anyio

log = logging.getLogger("member_api.sms")


class SmsSender(Protocol):
    async def send_code(self, phone: str, code: str, at: datetime) -> None: ...


class FileSender:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def _append(self, line: str) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    async def send_code(self, phone: str, code: str, at: datetime) -> None:
        line = json.dumps({"phone": phone, "code": code, "sent_at": at.isoformat()}) + "\n"
        await anyio.to_thread.run_sync(self._append, line)


class LogOnlySender:
    """For a deployment without an SMS gateway yet: records that a code went out, never the code."""

    async def send_code(self, phone: str, code: str, at: datetime) -> None:
        log.warning("sms_backend_not_configured")


def make_sender(spec: str) -> SmsSender:
    if spec.startswith("file:"):
        return FileSender(Path(spec.removeprefix("file:")))
    if spec == "none":
        return LogOnlySender()
    raise ValueError("MEMBER_API_SMS_BACKEND must be file:PATH or none")
