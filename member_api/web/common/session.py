"""The web session: a small encrypted cookie, HttpOnly, SameSite=Lax, Secure when the request came over HTTPS.

The cookie holds the API's own token pair (and small choices such as the member a guardian acts for), sealed with
AES-GCM (``cryptography``) under a key derived from the service's keyed-hash secret: every worker process and
replica that shares the key directory reads it, and nothing is kept on the server. No token ever reaches
JavaScript or localStorage. Each area (``/app``, later ``/console``) has its own cookie name and path.
"""

from __future__ import annotations

import base64
import binascii
import os
import time
from dataclasses import dataclass, field
from typing import Any

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from litestar import Request
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from member_api.core.context import AppContext

SCOPE_KEY = "member_api.web_session"
NONCE = 12
CSRF_NONCE = "_csrf"  # the session's CSRF nonce (csrf.py): kept when the session is cleared
HOST_PREFIX = "__Host-"  # over HTTPS: Secure, Path=/, no Domain, so no sibling host or path can set or shadow it


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose (``session:app``, ``csrf:app``), from the service's hash secret."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"member-api web {purpose}".encode()).derive(
        secret
    )


@dataclass
class WebSession:
    """The decrypted cookie. Changing it marks it dirty: the response then carries the new cookie."""

    data: dict[str, Any] = field(default_factory=dict)
    dirty: bool = False

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def update(self, **values: Any) -> None:
        for key, value in values.items():
            if value is None:
                self.data.pop(key, None)
            else:
                self.data[key] = value
        self.dirty = True

    def clear(self) -> None:
        self.data = {k: v for k, v in self.data.items() if k == CSRF_NONCE}
        self.dirty = True


class SessionCodec:
    def __init__(self, key: bytes, name: str) -> None:
        self.aead, self.aad = AESGCM(key), name.encode()

    def seal(self, data: dict[str, Any], expires_at: int) -> str:
        nonce = os.urandom(NONCE)
        plain = msgspec.json.encode({"d": data, "e": expires_at})
        return base64.urlsafe_b64encode(nonce + self.aead.encrypt(nonce, plain, self.aad)).decode().rstrip("=")

    def open(self, value: str, now: float) -> dict[str, Any]:
        """The data, or empty for a cookie that is forged, damaged, from another key or expired."""
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            plain = self.aead.decrypt(raw[:NONCE], raw[NONCE:], self.aad)
            body = msgspec.json.decode(plain)
        except (InvalidTag, ValueError, binascii.Error, msgspec.DecodeError):
            return {}
        if not isinstance(body, dict) or not isinstance(body.get("d"), dict) or body.get("e", 0) <= now:
            return {}
        return body["d"]


def is_https(scope: Scope) -> bool:
    return scope.get("scheme") == "https"


class SessionMiddleware:
    """Loads the area's session cookie into the scope and writes it back when a handler changed it."""

    def __init__(self, app: ASGIApp, cookie: str, path: str) -> None:
        self.app, self.cookie, self.path = app, cookie, path
        self._codec: SessionCodec | None = None

    def codec(self, ctx: AppContext) -> SessionCodec:
        if self._codec is None:
            self._codec = SessionCodec(derive_key(ctx.keyring.hash_secret, f"session:{self.cookie}"), self.cookie)
        return self._codec

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx: AppContext = scope["app"].state.ctx
        codec = self.codec(ctx)
        https = is_https(scope)
        name, path = (HOST_PREFIX + self.cookie, "/") if https else (self.cookie, self.path)
        value = Request(scope).cookies.get(name)
        session = WebSession(codec.open(value, time.time()) if value else {})
        scope[SCOPE_KEY] = session  # type: ignore[literal-required]
        lifetime = ctx.settings.refresh_token_ttl_s

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and session.dirty:
                headers = MutableScopeHeaders.from_message(message)
                common: dict[str, Any] = dict(path=path, httponly=True, samesite="lax", secure=https)
                if session.data:
                    sealed = codec.seal(session.data, int(time.time()) + lifetime)
                    cookie = Cookie(key=name, value=sealed, max_age=lifetime, **common)
                else:
                    cookie = Cookie(key=name, value="", max_age=0, expires=0, **common)
                headers.add("set-cookie", cookie.to_header(header=""))
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def session_of(request: Request[Any, Any, Any]) -> WebSession:
    session = request.scope.get(SCOPE_KEY)  # type: ignore[call-overload]
    if not isinstance(session, WebSession):  # a route outside a web area: an empty, unsaved session
        session = WebSession()
    return session
