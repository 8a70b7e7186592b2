"""Reading posted forms and turning a service's refusal into what a form shows next to its fields."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from litestar import Request
from litestar.datastructures import FormMultiDict, UploadFile

from member_api.core.errors import DomainError


async def form_of(request: Request[Any, Any, Any]) -> FormMultiDict:
    """The posted form (already parsed once by the CSRF check, so this reads no body twice)."""
    return await request.form()


def text(form: FormMultiDict, name: str, max_length: int = 500) -> str:
    value = form.get(name)
    return value.strip()[:max_length] if isinstance(value, str) else ""


def number(form: FormMultiDict, name: str) -> int | None:
    value = text(form, name, 20)
    return int(value) if value.isdigit() and 0 < int(value) < 2**31 else None


GENERIC = ("请检查此项",)
_YUAN = re.compile(r"^(\d{1,9})(?:\.(\d{1,2}))?$")


def yuan_to_fen(value: str, max_fen: int = 100_000_000) -> int | None:
    """ "12.3" -> 1230: a non-negative amount in yuan with at most two decimals, converted exactly (digits, never a
    float); thousands separators are ignored. None for anything else (letters, three decimals, negative, too big)."""
    match = _YUAN.match(value.strip().replace(",", "").replace("，", "").replace("¥", "").replace("￥", ""))
    if not match:
        return None
    fen = int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))
    return fen if fen <= max_fen else None


def uploads(form: FormMultiDict, name: str) -> list[UploadFile]:
    """The files of a multipart field; an empty file input (no file chosen) is not a file."""
    return [f for f in form.getall(name, []) if isinstance(f, UploadFile) and (f.filename or f.size)]


def problem(err: DomainError, field_words: Callable[[str], str] = lambda _: "请检查此项") -> dict[str, Any]:
    """{code, message_zh, fields: {field: words}, extra} for a template or a script. A field the words table does not
    know, when it is the only one marked, takes the refusal's own Chinese message (which names the problem)."""
    marked = err.errors or []
    fields = {e.field: field_words(e.message) for e in marked}
    if len(fields) == 1 and next(iter(fields.values())) in GENERIC:
        fields = dict.fromkeys(fields, err.message_zh)
    return {
        "code": err.code,
        "status": err.status,
        "message_zh": err.message_zh,
        "fields": fields,
        "extra": err.extra or {},
        "retry_after_s": int((err.headers or {}).get("Retry-After", 0)) or None,
    }
