"""Bodies of /v1/me/notices."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from member_api.core.types import MAX_ID


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
    up_to_id: Annotated[int, msgspec.Meta(ge=0, le=MAX_ID)] = 0
    """Mark notices up to this id read; 0 (the default): all of them."""


class MarkedRead(msgspec.Struct, kw_only=True):
    marked: int
    unread: int
