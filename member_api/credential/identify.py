"""R8: who stands at the counter, from the e-credential (with its single-use jti) or the ID card's number."""

from __future__ import annotations

from typing import Any

from member_api.core.context import AppContext
from member_api.core.errors import DomainError, invalid_field
from member_api.credential import tokens as credential_tokens
from member_api.db import fetch_one
from member_api.members.identity import id_problem, normalise_id

MEMBER_BY_ID = "SELECT id, name, id_masked, birth_date, credential_subject FROM member WHERE id = {}"
MEMBER_BY_ID_HASH = "SELECT id, name, id_masked, birth_date, credential_subject FROM member WHERE id_hash = {}"


IDENTIFY_PROBLEMS = (  # for the OpenAPI document of the operations that identify a member (statuses: core/problems)
    "identity_required",
    "credential_expired",
    "credential_invalid",
    "invalid_id_number",
    "member_not_found",
)


async def identify_member(
    ctx: AppContext, credential: str | None, id_number: str | None
) -> tuple[dict[str, Any], str | None]:
    """R8: the member by e-credential (also returns its jti) or by ID number (ID card / SSC path)."""
    if bool(credential) == bool(id_number):
        raise DomainError(
            "identity_required",
            "请扫描医保电子凭证或输入身份证号（二选一）",
            "Give exactly one of credential or id_number.",
        )
    if credential:
        member_id, jti = credential_tokens.read(ctx.keyring, credential, ctx.clock.now())
        member = await fetch_one(MEMBER_BY_ID, member_id)
        if member is None:
            raise DomainError("credential_invalid", "医保电子凭证无效", "The e-credential is not valid.")
        return member, jti
    assert id_number is not None
    problem = id_problem(id_number)
    if problem:
        raise invalid_field("id_number", "身份证号码有误，请核对", problem, code="invalid_id_number")
    id_hash = ctx.keyring.keyed_hash("id", normalise_id(id_number))
    member = await fetch_one(MEMBER_BY_ID_HASH, id_hash)
    if member is None:
        raise DomainError("member_not_found", "未找到该参保人", "No member with this ID number.")
    return member, None
