"""Every refusal of a web page in words: an error page (or JSON for the page's own scripts), never raw problem+json,
a stack trace or a blank page. The code and Chinese message come from the API's own problem mapping."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import PermissionDeniedException
from litestar.response import Redirect, Template

from member_api.core.errors import http_exception_handler
from member_api.core.observability import request_id_var
from member_api.web.common.pages import PAGE_HEADERS

log = logging.getLogger("member_api.web")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class RedirectTo(Exception):
    """Raised by a dependency (not logged in, not bound): pages go there, scripts get 401 with ``code``."""

    def __init__(self, location: str, code: str, message_zh: str) -> None:
        super().__init__(code)
        self.location, self.code, self.message_zh = location, code, message_zh


def wants_json(request: Request[Any, Any, Any]) -> bool:
    """The page's own scripts say so (``X-Requested-With: fetch``); event streams always do."""
    return request.headers.get("x-requested-with") == "fetch" or "text/event-stream" in request.headers.get(
        "accept", ""
    )


def problem_of(request: Request[Any, Any, Any], exc: Exception) -> dict[str, Any]:
    """The problem body the API would answer for ``exc`` (code, status, message_zh, errors, extra)."""
    if isinstance(exc, PermissionDeniedException) and "CSRF" in str(exc.detail):
        return {
            "code": "csrf_failed",
            "status": 403,
            "message_zh": "页面已过期或来源不明，请刷新页面后重试",
            "message_en": "The form expired or came from elsewhere; reload the page and try again.",
        }
    response = http_exception_handler(request, exc)  # logs what it must (5xx), maps every exception
    body = msgspec.json.decode(response.content) if isinstance(response.content, bytes) else {}
    retry = {k.lower(): v for k, v in (response.headers or {}).items()}.get("retry-after")
    if retry and str(retry).isdigit():
        body["retry_after_s"] = int(retry)
    return body


def json_problem(problem: dict[str, Any], status: int | None = None) -> Response[Any]:
    keep = ("code", "status", "message_zh", "errors", "extra", "retry_after_s", "location")
    return Response(
        {k: problem[k] for k in keep if k in problem}, status_code=status or problem["status"], headers=NO_STORE
    )


def error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The exception handler of every web area."""
    if isinstance(exc, RedirectTo):
        if wants_json(request):
            return json_problem(
                {"code": exc.code, "status": 401, "message_zh": exc.message_zh, "location": exc.location}
            )
        return Redirect(exc.location, status_code=303, headers=PAGE_HEADERS)
    problem = problem_of(request, exc)
    if wants_json(request):
        return json_problem(problem)
    status = int(problem.get("status", 500))
    return Template(
        template_name="common/error.html",
        context={"problem": problem, "request_id": request_id_var.get(), "back": _back(request)},
        status_code=status,
        headers=PAGE_HEADERS,
        media_type=MediaType.HTML,
    )


def _back(request: Request[Any, Any, Any]) -> str:
    """Where the error page's button leads: the area's start page."""
    area = "/" + request.url.path.strip("/").split("/", 1)[0] + "/"
    return quote(area)
