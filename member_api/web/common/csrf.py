"""CSRF protection for every state-changing request of a web area, bound to the session.

The session (an encrypted, HttpOnly cookie: session.py) carries a random nonce; the token is an HMAC of that nonce
under a key derived from the key directory. Pages embed the token in each form (``_csrf_token``) and in
``<meta name=csrf-token>`` for the page's scripts (header ``X-CSRFToken``); a POST whose token is not the one of
*its own* session is refused before its handler runs. A token taken from another session (an attacker's own, with
its cookie) is worthless with the victim's session cookie, unlike a double-submit cookie pair.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from litestar import Request
from litestar.exceptions import PermissionDeniedException
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from member_api.core.context import AppContext
from member_api.web.common.session import CSRF_NONCE, SCOPE_KEY, WebSession, derive_key

HEADER = "x-csrftoken"
FIELD = "_csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def session_token(key: bytes, session: WebSession) -> str:
    """The session's token (a nonce is added to a session that has none: it is saved with the response)."""
    nonce = session.get(CSRF_NONCE)
    if not isinstance(nonce, str) or not nonce:
        nonce = secrets.token_urlsafe(24)
        session.update(**{CSRF_NONCE: nonce})
    return hmac.new(key, nonce.encode(), hashlib.sha256).hexdigest()


class CsrfMiddleware:
    """Runs inside ``SessionMiddleware``: safe requests get the session's token for their pages, others must send it."""

    def __init__(self, app: ASGIApp, cookie: str, path: str) -> None:
        self.app, self.name = app, cookie
        self._key: bytes | None = None

    def key(self, ctx: AppContext) -> bytes:
        if self._key is None:
            self._key = derive_key(ctx.keyring.hash_secret, f"csrf:{self.name}")
        return self._key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session = scope.get(SCOPE_KEY)  # type: ignore[call-overload]
        assert isinstance(session, WebSession), "CsrfMiddleware runs inside SessionMiddleware"
        had_nonce = bool(session.get(CSRF_NONCE))
        expected = session_token(self.key(scope["app"].state.ctx), session)
        if scope["method"] not in SAFE_METHODS:
            given = await self._given(scope, receive)
            if not had_nonce or not given or not hmac.compare_digest(given.encode(), expected.encode()):
                raise PermissionDeniedException("CSRF token verification failed")
        ScopeState.from_scope(scope).csrf_token = expected  # csrf_token() and csrf_input in the templates
        await self.app(scope, receive, send)

    @staticmethod
    async def _given(scope: Scope, receive: Receive) -> str:
        request: Request[Any, Any, Any] = scope["app"].request_class(scope=scope, receive=receive)
        token = request.headers.get(HEADER, "")
        if not token and request.content_type[0] in FORMS:
            value = (await request.form()).get(FIELD)  # parsed once: the handler reads the same form
            token = value if isinstance(value, str) else ""
        return token
