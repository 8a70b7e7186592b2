"""What every console page shares: who is at the desk (name, role, facility, menu), the idle timeout, the page
helper, and forms that carry an ``Idempotency-Key`` so a double submit does one thing."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
from litestar import Request
from litestar.response import Template

from member_api.auth.service import actor_names
from member_api.core.context import AppContext
from member_api.core.errors import DomainError
from member_api.core.idempotency import MAX_KEY_LENGTH, KeyLease, begin, fingerprint
from member_api.core.principal import Principal
from member_api.facilities import service as facility_service
from member_api.web.common import labels
from member_api.web.common.pages import page
from member_api.web.common.session import session_of
from member_api.web.console.staff import ROLE_NAMES, ROOT

T = TypeVar("T", bound=msgspec.Struct)

MENUS: dict[str, list[tuple[str, str, str]]] = {
    "clerk": [
        ("counter", f"{ROOT}/counter", "柜台结算"),
        ("today", f"{ROOT}/counter/today", "今日结算"),
        ("referral", f"{ROOT}/counter/referral", "转诊登记"),
        ("assist", f"{ROOT}/counter/assist", "代办业务"),
        ("change_requests", f"{ROOT}/review/change-requests", "变更申请"),
        ("my_report", f"{ROOT}/counter/report", "月报确认"),
    ],
    "reviewer": [
        ("claims", f"{ROOT}/review/claims", "报销审核"),
        ("change_requests", f"{ROOT}/review/change-requests", "变更申请"),
        ("disputes", f"{ROOT}/review/disputes", "异议处理"),
    ],
    "officer": [
        ("capitation", f"{ROOT}/agency", "按人头付费"),
        ("fund", f"{ROOT}/agency/fund", "调节金"),
        ("quality", f"{ROOT}/agency/quality", "质量考核"),
        ("year", f"{ROOT}/agency/year", "年终清算"),
        ("reports", f"{ROOT}/agency/reports", "月报确认"),
        ("assessment", f"{ROOT}/agency/assessment", "年度考核"),
        ("signals", f"{ROOT}/agency/signals", "异常线索"),
    ],
}
HOME = {"clerk": f"{ROOT}/counter", "reviewer": f"{ROOT}/review/claims", "officer": f"{ROOT}/agency"}


async def facility_name(facility_id: int | None) -> str:
    if facility_id is None:
        return ""
    try:
        return str((await facility_service.facility_facts(facility_id))["name"])
    except DomainError:
        return ""


async def desk_page(
    request: Request[Any, Any, Any],
    ctx: AppContext,
    principal: Principal,
    template: str,
    tab: str,
    status: int = 200,
    **context: Any,
) -> Template:
    session = session_of(request)
    desk = {
        "username": (await actor_names([principal.actor]))[principal.actor] or session.get("u", ""),
        "role": principal.role,
        "role_name": ROLE_NAMES.get(principal.role, principal.role),
        "facility_name": await facility_name(principal.facility_id),
        "menu": MENUS.get(principal.role, []),
        "idle_s": ctx.settings.console_idle_timeout_s,
    }
    return page(template, status=status, desk=desk, tab=tab, L=labels, **context)


def new_key() -> str:
    """The Idempotency-Key a form carries: one per rendering of the form."""
    return uuid.uuid4().hex


async def once(
    ctx: AppContext,
    principal: Principal,
    key: str,
    api_path: str,
    payload: msgspec.Struct | dict[str, Any],
    result_type: type[T],
    work: Callable[[KeyLease], Awaitable[T]],
    completes_itself: bool = True,
) -> T:
    """Run ``work`` under the form's key, in the same scope and with the same semantics as the API's POST
    (``core.idempotency``): a second submit of the same form answers what the first did, without doing it again."""
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise DomainError("idempotency_key_missing", "表单已失效，请刷新页面后重试", "The form has no valid key.")
    body = msgspec.json.encode(payload)
    gate = await begin(f"staff:{principal.staff_id}", key, fingerprint("POST", api_path, body), ctx.clock.now())
    if not isinstance(gate, KeyLease):
        return msgspec.json.decode(gate.body, type=result_type)
    try:
        result = await work(gate)
    except BaseException as exc:
        await gate.release_after(exc)
        raise
    if not completes_itself:
        await gate.complete(201, msgspec.json.encode(result), ctx.clock.now())
    return result
