"""The trust edge: hostile bytes are refused before any route sees them, and every answer carries safe headers.

One place for every input a client controls:

- JSON bodies (``StrictRequest.json``): invalid UTF-8 or syntax is 400 ``malformed_json``; a control character in
  any string or key is 422 ``control_character`` naming the field; the value is then converted to the route's
  body type with msgspec ``strict=True``, so ``"100"`` is not an integer and ``"true"`` is not a boolean.
- Query values and names, data headers (``Idempotency-Key``), multipart/urlencoded text fields and upload file
  names (``check_request_text``, run by the app's ``before_request`` hook once the bearer token of a route that
  needs one has passed): a control character is 422 naming it; a query string or form field that is not UTF-8
  is 400.
- Response headers (``secure_headers``, a ``before_send`` hook, so router 404s and CORS answers get them too):
  ``X-Content-Type-Options: nosniff`` everywhere; ``Cache-Control: no-store`` on every ``/v1`` answer except
  the public facility catalogue, unless the route chose its own.

Control characters: in body text (JSON strings, form fields) tab, line feed and carriage return are allowed,
because free-text fields (reasons, comments) may hold line breaks; every other C0 character (U+0000-U+001F)
and DEL (U+007F) is refused everywhere. Query values, header values and file names allow none of them.
PostgreSQL cannot store U+0000 in text, and none of these characters has a use in this API.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar import Request
from litestar.datastructures import MutableScopeHeaders, UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.params import BodyKwarg
from litestar.serialization.msgspec_hooks import default_deserializer
from litestar.types import Empty, Message, Scope

from member_api.core.errors import DomainError, FieldError

CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Refused in body text: C0 controls except tab, LF and CR, and DEL."""
CONTROL_ANY = re.compile(r"[\x00-\x1f\x7f]")
"""Refused in query values, header values and file names: every C0 control and DEL."""
DATA_HEADERS = ("idempotency-key",)
"""Headers whose value the API stores or compares as data."""
PUBLIC_READS = ("/v1/facilities",)
"""``/v1`` GET paths (and their sub-paths) that carry no personal data: cacheable by the client."""
MAX_REPORTED = 20


def _shown(name: str) -> str:
    """A field name fit to echo back: control characters replaced."""
    return CONTROL_ANY.sub("?", name)[:200]


def control_character(fields: list[str]) -> DomainError:
    errors = [
        FieldError(field=_shown(f), message="contains a control character (U+0000-U+001F or U+007F)")
        for f in fields[:MAX_REPORTED]
    ]
    return DomainError(
        "control_character",
        "提交的内容含有不允许的控制字符，请检查标出的字段",
        "The request contains a control character; see errors.",
        errors=errors,
    )


def malformed_json() -> DomainError:
    return DomainError("malformed_json", "请求内容不是有效的 JSON", "The request body is not valid JSON.")


def text_problems(value: Any, pattern: re.Pattern[str] = CONTROL_IN_TEXT) -> list[str]:
    """Paths (``items[0].reason``) of every string or key in a decoded JSON value that holds a control character.

    Iterative, so a deeply nested body cannot exhaust the stack here.
    """
    found: list[str] = []
    stack: list[tuple[str, Any]] = [("", value)]
    while stack and len(found) < MAX_REPORTED:
        path, item = stack.pop()
        if isinstance(item, str):
            if pattern.search(item):
                found.append(path or "body")
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and pattern.search(key):
                    found.append(child_path)
                stack.append((child_path, child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(item))
    return sorted(found)


def _validation(exc: msgspec.ValidationError) -> ValidationException:
    return ValidationException(detail="Validation failed", extra=[{"message": str(exc), "source": "body"}])


class StrictRequest(Request):  # type: ignore[type-arg]
    """A request whose JSON body is checked for hostile text and decoded strictly into the route's body type."""

    async def json(self) -> Any:
        if self._json is Empty:
            if (cached := self._connection_state.json) is not Empty:
                self._json = cached
            else:
                self._json = self._connection_state.json = await self._decode_json()
        return self._json

    async def _decode_json(self) -> Any:
        body = await self.body()
        try:
            raw = msgspec.json.decode(body or b"null")
        except msgspec.ValidationError as exc:  # a number outside every numeric type (1e400)
            raise _validation(exc) from exc
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            raise malformed_json() from exc
        except RecursionError as exc:
            raise DomainError(
                "body_too_deep", "请求内容嵌套层级过深", "The request body is nested too deeply."
            ) from exc
        if bad := text_problems(raw):
            raise control_character(bad)
        target = self._body_type()
        if target is None:
            return raw
        try:
            return msgspec.convert(raw, target, strict=True, dec_hook=_type_decoder_hook(self), str_keys=True)
        except msgspec.ValidationError as exc:
            raise _validation(exc) from exc

    def _body_type(self) -> Any:
        field = self.route_handler.parsed_fn_signature.parameters.get("data")
        if field is None or _form_media_type(field.kwarg_definition) is not None:
            return None
        return field.annotation


def _type_decoder_hook(request: Request) -> Any:  # type: ignore[type-arg]
    decoders = request.route_handler.resolve_type_decoders()

    def hook(target_type: Any, value: Any) -> Any:
        return default_deserializer(target_type, value, type_decoders=decoders)

    return hook


def _form_media_type(kwarg_definition: Any) -> str | None:
    if isinstance(kwarg_definition, BodyKwarg) and kwarg_definition.media_type in (
        RequestEncodingType.MULTI_PART,
        RequestEncodingType.URL_ENCODED,
    ):
        return RequestEncodingType(kwarg_definition.media_type).value
    return None


async def check_request_text(request: Request) -> None:  # type: ignore[type-arg]
    """``before_request`` hook: query string, data headers and form fields of every route."""
    bad: list[str] = []
    raw_query = request.scope.get("query_string", b"")
    if raw_query:
        try:
            pairs = parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="strict")
        except UnicodeDecodeError as exc:
            raise DomainError(
                "malformed_query", "查询参数不是有效的 UTF-8 文本", "The query string is not valid UTF-8."
            ) from exc
        for name, value in pairs:
            if CONTROL_ANY.search(name) or CONTROL_ANY.search(value):
                bad.append(name)
    for header in DATA_HEADERS:
        value = request.headers.get(header)
        if value is not None and CONTROL_ANY.search(value):
            bad.append(header.title())
    field = request.route_handler.parsed_fn_signature.parameters.get("data")
    if field is not None and _form_media_type(field.kwarg_definition) == request.content_type[0]:
        bad += await _form_problems(request)
    if bad:
        raise control_character(bad)


async def _form_problems(request: Request) -> list[str]:  # type: ignore[type-arg]
    try:
        form = await request.form()
    except (UnicodeDecodeError, LookupError) as exc:  # a text part not in its declared (or a bogus) charset
        raise DomainError(
            "malformed_form", "表单内容无法解析", "A form field is not valid text in its charset."
        ) from exc
    bad: list[str] = []
    seen: dict[str, int] = {}
    for name, value in form.multi_items():
        index = seen.get(name, 0)
        seen[name] = index + 1
        if CONTROL_ANY.search(name):
            bad.append(name)
        if isinstance(value, UploadFile):
            if CONTROL_ANY.search(value.filename or ""):
                bad.append(f"{name}[{index}].filename")
        elif isinstance(value, str) and CONTROL_IN_TEXT.search(value):
            bad.append(name)
    return bad


def _public_read(scope: Scope) -> bool:
    path = scope.get("path", "")
    return scope.get("method") in ("GET", "HEAD") and any(
        path == prefix or path.startswith(prefix + "/") for prefix in PUBLIC_READS
    )


async def secure_headers(message: Message, scope: Scope) -> None:
    """``before_send`` hook: nosniff on every response; no-store on personal (all non-public ``/v1``) ones."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    headers["X-Content-Type-Options"] = "nosniff"
    path = scope.get("path", "")
    if (path == "/v1" or path.startswith("/v1/")) and not _public_read(scope) and "cache-control" not in headers:
        headers["Cache-Control"] = "no-store"
