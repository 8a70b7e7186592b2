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
    title: str = ""
    """The kind's title (门诊结算, 报销审核结果, ...)."""
    link: str = ""
    """What the notice is about, as a path of the H5 app (``/app/claims/12``); empty when nothing more to see."""


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


class NoticePreferenceView(msgspec.Struct, kw_only=True):
    kind: str
    title: str
    enabled: bool
    money: bool
    """About money (on by default; a resident may still turn the push off, the notice stays in the list)."""


class NoticePreferences(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Kinds to turn on (true) or off (false); kinds left out keep their choice."""

    counter: bool | None = None
    reversal: bool | None = None
    claim_payout: bool | None = None
    cap_low: bool | None = None
    refused_visit: bool | None = None
    claim_decided: bool | None = None
    change_decided: bool | None = None
    designation_effective: bool | None = None
    newborn_window: bool | None = None
    dispute_confirmed: bool | None = None
    dispute_rejected: bool | None = None

    def chosen(self) -> dict[str, bool]:
        return {k: v for k, v in msgspec.structs.asdict(self).items() if v is not None}


class SubscribeResults(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``wx.requestSubscribeMessage``'s answer as the mini-program got it: template id -> ``accept``, ``reject``,
    ``ban`` or ``filter`` (its ``errMsg`` member may be passed along and is ignored)."""

    results: dict[str, str]


class Subscriptions(msgspec.Struct, kw_only=True):
    remaining: dict[str, int]
    """Per notice kind, how many more subscription messages the resident's accepted subscriptions allow."""
