"""Bodies of /v1/me/notices."""

from __future__ import annotations

from datetime import datetime

import msgspec


class NoticeView(msgspec.Struct, kw_only=True):
    id: int
    about_member_id: int
    kind: str
    movement_id: int | None
    dispute_id: int | None
    text_zh: str
    created_at: datetime
    read: bool


class NoticePage(msgspec.Struct, kw_only=True):
    unread: int
    items: list[NoticeView]
    next_before_id: int | None


class MarkRead(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    up_to_id: int = msgspec.field(default=0)


class MarkedRead(msgspec.Struct, kw_only=True):
    marked: int
    unread: int
