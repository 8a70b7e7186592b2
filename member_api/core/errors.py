"""DomainError and the RFC 9457 problem+json handlers: every failure has a stable code and zh/en text."""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example

from member_api.core.problems import status_of

log = logging.getLogger("member_api.core.errors")
PROBLEM = "application/problem+json"


class FieldError(msgspec.Struct, kw_only=True):
    field: str
    message: str


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The problem+json body (RFC 9457) with this API's extra members."""

    type: str
    title: str
    status: int
    code: str
    message_zh: str
    message_en: str
    detail: str | None = None
    errors: list[FieldError] | None = None
    extra: dict[str, Any] | None = None


class DomainError(Exception):
    """A refusal a client can act on, raised by services with a stable code and zh/en text.

    Services say what went wrong, not which HTTP status it is: the status comes from the one table in
    ``core/problems.py`` (the OpenAPI declarations read the same table). Rendered by ``problem_handler``.
    """

    def __init__(
        self,
        code: str,
        message_zh: str,
        message_en: str,
        *,
        errors: list[FieldError] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        self.errors = errors
        self.extra = extra
        self.headers = headers

    @property
    def status(self) -> int:
        return status_of(self.code)


class ApiError(DomainError):
    """A refusal with an explicit status: only the HTTP edge uses it (litestar's own exceptions, whose status
    the table cannot know). Services raise ``DomainError``; ``tests/unit/test_architecture.py`` holds that."""

    def __init__(self, code: str, status: int, message_zh: str, message_en: str, **kwargs: Any) -> None:
        super().__init__(code, message_zh, message_en, **kwargs)
        self._status = status

    @property
    def status(self) -> int:
        return self._status


def problem_response(err: DomainError) -> Response[bytes]:
    body = Problem(
        type=f"https://member-api.shaoguan.example/problems/{err.code}",
        title=err.message_en,
        status=err.status,
        code=err.code,
        message_zh=err.message_zh,
        message_en=err.message_en,
        errors=err.errors,
        extra=err.extra,
    )
    return Response(msgspec.json.encode(body), status_code=err.status, media_type=PROBLEM, headers=err.headers)


def not_found(what_zh: str = "资源", what_en: str = "resource") -> DomainError:
    """Ownership failures answer 404 too, so an id's existence is never revealed."""
    return DomainError("not_found", f"{what_zh}不存在", f"The {what_en} does not exist.")


def invalid_field(field: str, message_zh: str, message_en: str, code: str = "validation_error") -> DomainError:
    return DomainError(code, message_zh, message_en, errors=[FieldError(field=field, message=message_en)])


_STATUS_CODES: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "请求格式不正确", "The request is malformed."),
    401: ("unauthorized", "请先登录", "Authentication is required."),
    403: ("forbidden", "无权进行此操作", "You are not allowed to do this."),
    404: ("not_found", "请求的资源不存在", "The requested resource does not exist."),
    405: ("method_not_allowed", "不支持该请求方法", "This method is not allowed on this path."),
    406: ("not_acceptable", "无法提供该格式", "The requested format is not available."),
    409: ("conflict", "请求冲突，请稍后重试", "The request conflicts with the current state."),
    413: ("body_too_large", "请求内容过大", "The request body is too large."),
    415: ("unsupported_media_type", "不支持的内容类型", "The content type is not supported."),
    422: ("validation_error", "提交的数据有误", "The submitted data is invalid."),
    429: ("rate_limited", "操作过于频繁，请稍后再试", "Too many requests; try again later."),
    503: ("service_unavailable", "系统繁忙，请稍后重试", "The service is busy or briefly unavailable."),
    507: ("storage_full", "系统存储空间不足，请稍后重试", "The service has no room to store this."),
}

_MSGSPEC_PATH = re.compile(r" - at `\$([^`]*)`")
_MSGSPEC_NAMED = re.compile(r"(?:missing required|unknown) field `([^`]*)`")


def _validation_problem(exc: ValidationException) -> DomainError:
    details = exc.extra if isinstance(exc.extra, list) else []
    errors: list[FieldError] = []
    malformed = False
    for item in details:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid"))
        if "malformed" in message.lower() or "truncated" in message.lower():
            malformed = True
        match = _MSGSPEC_PATH.search(message)
        field = match.group(1).removeprefix(".") if match else ""  # `$.a[0].b` -> a[0].b, `$[0].b` -> [0].b
        if named := _MSGSPEC_NAMED.search(message):  # the object's path plus the field it lacks or should not have
            field = f"{field}.{named.group(1)}" if field else named.group(1)
        field = item.get("key") or field or "body"
        errors.append(FieldError(field=str(field), message=_MSGSPEC_PATH.sub("", message)))
    if malformed or (not errors and "malformed" in str(exc.detail).lower()):
        return DomainError("malformed_json", "请求内容不是有效的 JSON", "The request body is not valid JSON.")
    return DomainError(
        "validation_error",
        "提交的数据有误，请检查标出的字段",
        "The submitted data is invalid; see errors.",
        errors=errors or None,
    )


def http_exception_handler(_: Request, exc: Exception) -> Response[bytes]:
    if isinstance(exc, DomainError):
        return problem_response(exc)
    if isinstance(exc, ValidationException):
        return problem_response(_validation_problem(exc))
    if isinstance(exc, HTTPException):
        status = exc.status_code
        detail = str(exc.detail).lower()
        if status == 400 and ("json" in detail or "malformed" in detail or "truncated" in detail):
            return problem_response(
                DomainError("malformed_json", "请求内容不是有效的 JSON", "The request body is not valid JSON.")
            )
        code, zh, en = _STATUS_CODES.get(status, ("http_error", "请求失败", "The request failed."))
        if status >= 500:
            log.error("http_error", extra={"status": status})
        return problem_response(ApiError(code, status, zh, en, headers=exc.headers))
    if isinstance(exc, RecursionError):  # msgspec refuses JSON nested past its depth limit this way
        return problem_response(
            DomainError("body_too_deep", "请求内容嵌套层级过深", "The request body is nested too deeply.")
        )
    if isinstance(exc, UnicodeDecodeError):  # a multipart text field that is not UTF-8, before any handler runs
        return problem_response(
            DomainError("malformed_body", "请求内容编码无效（须为 UTF-8）", "The request body is not valid UTF-8.")
        )
    fault = fault_problem(exc)
    if fault is not None:
        return problem_response(fault)
    log.exception("unhandled_error", exc_info=exc)
    return problem_response(
        DomainError("internal_error", "服务内部错误，请稍后重试", "Internal error; try again later.")
    )


def service_unavailable(retry_after_s: int | None = None) -> ApiError:
    """The database (or another part the service needs) cannot serve this now: retry the same request later."""
    return DomainError(
        "service_unavailable",
        "系统繁忙，请稍后重试",
        "The service is busy or briefly unavailable; retry the same request (same Idempotency-Key) later.",
        headers={"Retry-After": str(retry_after_s or _retry_after_s())},
    )


def storage_full() -> ApiError:
    return DomainError(
        "storage_full",
        "系统存储空间不足，文件未保存，请稍后重试",
        "The service has no room to store this; nothing was stored. Retry later.",
        headers={"Retry-After": "60"},
    )


def _retry_after_s() -> int:
    from member_api.settings import Settings  # read at the fault, as the operator set it; not at import

    return Settings.from_env().retry_after_s


def fault_problem(exc: BaseException) -> ApiError | None:
    """A fault of the database or the disk as the 503/507 a client can act on (logged once, without personal data)."""
    from member_api import db  # db raises this module's errors: loaded at the first fault, not in a circle

    kind = db.unavailable(exc)
    if kind is None:
        return None
    log.warning("fault", extra={"kind": kind, "error": type(exc).__name__})
    if kind == db.STORAGE_FULL:
        return storage_full()
    return service_unavailable(getattr(exc, "retry_after_s", None))


EXCEPTION_HANDLERS = {Exception: http_exception_handler}


def problem_responses(codes_by_status: dict[int, list[str]]) -> dict[int, Any]:
    """OpenAPI: the problem+json responses of one operation, each listing its codes with an example body each."""
    specs: dict[int, Any] = {}
    for status, codes in sorted(codes_by_status.items()):
        _, zh, en = _STATUS_CODES.get(status, ("http_error", "请求失败", "The request failed."))
        examples = []
        for code in codes:
            errors = [FieldError(field="field", message="why it is refused")] if status == 422 else None
            body = problem_response(ApiError(code, status, zh, en, errors=errors)).content
            examples.append(Example(id=code, summary=code, value=msgspec.json.decode(body)))
        listed = ", ".join(f"`{code}`" for code in codes)
        specs[status] = ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM,
            description=f"{en.rstrip('.')} (problem+json). `code`: {listed}.",
            examples=examples,
            generate_examples=False,
        )
    return specs
