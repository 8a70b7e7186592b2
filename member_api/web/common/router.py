"""One web area: a litestar Router with the session cookie, CSRF, error pages and headers of ``common``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import Router
from litestar.datastructures import ResponseHeader
from litestar.middleware import DefineMiddleware

from member_api.web.common.csrf import CsrfMiddleware
from member_api.web.common.errors import error_page
from member_api.web.common.pages import PAGE_HEADERS
from member_api.web.common.session import SessionMiddleware


def area_router(path: str, name: str, route_handlers: Sequence[Any], **options: Any) -> Router:
    """``path`` (``/app``) with the session cookie ``<name>_session`` (``__Host-<name>_session`` over HTTPS) and CSRF
    tokens bound to it; pages stay out of the API's OpenAPI document."""
    return Router(
        path=path,
        route_handlers=list(route_handlers),
        middleware=[
            DefineMiddleware(SessionMiddleware, cookie=f"{name}_session", path=path),
            DefineMiddleware(CsrfMiddleware, cookie=f"{name}_csrf", path=path),
        ],
        exception_handlers={Exception: error_page},
        response_headers=[ResponseHeader(name=k, value=v) for k, v in PAGE_HEADERS.items()],
        include_in_schema=False,
        **options,
    )
