"""CSRF protection for every state-changing request of a web area: litestar's double-submit token.

A signed random token lives in an HttpOnly, SameSite=Strict cookie (Secure over HTTPS); pages embed the same token
in each form (``_csrf_token``) and in ``<meta name=csrf-token>`` for the page's scripts (header ``X-CSRFToken``).
A POST without the matching pair is refused before its handler runs.
"""

from __future__ import annotations

from litestar.config.csrf import CSRFConfig
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from member_api.core.context import AppContext
from member_api.web.common.session import derive_key, is_https

HEADER = "x-csrftoken"


class CsrfMiddleware:
    """litestar's ``CSRFMiddleware`` with the area's cookie, its secret derived from the key directory, and the
    cookie's Secure flag following the request's scheme."""

    def __init__(self, app: ASGIApp, cookie: str, path: str) -> None:
        self.app, self.cookie, self.path = app, cookie, path
        self._inner: dict[bool, CSRFMiddleware] = {}

    def inner(self, ctx: AppContext, https: bool) -> CSRFMiddleware:
        if https not in self._inner:
            config = CSRFConfig(
                secret=derive_key(ctx.keyring.hash_secret, f"csrf:{self.cookie}").hex(),
                cookie_name=self.cookie,
                cookie_path=self.path,
                cookie_secure=https,
                cookie_httponly=True,
                cookie_samesite="strict",
                header_name=HEADER,
            )
            self._inner[https] = CSRFMiddleware(self.app, config)
        return self._inner[https]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.inner(scope["app"].state.ctx, is_https(scope))(scope, receive, send)
