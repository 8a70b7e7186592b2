"""The bound member behind a resident's principal (``family.callers`` decides whom a call is about)."""

from __future__ import annotations

from member_api.core.context import AppContext
from member_api.core.errors import DomainError
from member_api.core.principal import MemberCaller, Principal, forbidden
from member_api.members import queries


async def provide_member_caller(principal: Principal, ctx: AppContext) -> MemberCaller:
    if principal.role != "member" or principal.account_id is None:
        raise forbidden()
    member_id = ctx.caches.account_member.get(principal.account_id)
    if member_id is None:
        row = await queries.account_link(principal.account_id)
        if not row or row["member"] is None:
            reason = row["unbound_reason"] if row else None
            raise DomainError(
                "binding_required",
                "请先绑定参保信息",
                "Bind your insurance record first.",
                extra={"unbound_reason": reason} if reason else None,
            )
        # Cached for a few seconds only: an import or a counter can unbind the account.
        member_id = ctx.caches.account_member[principal.account_id] = row["member"]
    return MemberCaller(principal=principal, member_id=member_id)
