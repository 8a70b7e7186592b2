"""The WeChat mini-program server API (documented HTTP JSON; the API base is configurable so tests use a fake).

Only what member-api needs: ``code2Session`` (wx.login), the app's access token, the phone-number grant and
subscription messages. WeChat answers HTTP 200 with ``errcode`` for its errors; they are raised as
``WechatError`` and callers map the codes they know. The app secret, session keys and tokens are never logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

# errcodes callers act on
INVALID_CODE = 40029  # the wx.login / phone code is invalid or used
CODE_USED = 40163
RATE_LIMITED = 45011  # per-user code2Session frequency limit
TOKEN_INVALID = (40001, 42001, 40014)  # access token invalid or expired: fetch a new one
NOT_SUBSCRIBED = 43101  # the user has no (remaining) subscription for the template
BUSY = -1  # system busy


class WechatError(Exception):
    def __init__(self, errcode: int, errmsg: str = "") -> None:
        super().__init__(f"{errcode}")
        self.errcode = errcode
        self.errmsg = errmsg


class WechatUnavailable(Exception):
    """WeChat's API did not answer (network, timeout, 5xx)."""


@dataclass(frozen=True)
class Session:
    openid: str
    unionid: str | None


@dataclass(frozen=True)
class Token:
    access_token: str
    expires_in: int


class WechatClient:
    def __init__(self, api_base: str, app_id: str, app_secret: str, timeout_s: float = 5.0) -> None:
        self.api_base = api_base.rstrip("/")
        self.app_id = app_id
        self._secret = app_secret
        self.timeout_s = timeout_s

    @property
    def configured(self) -> bool:
        return bool(self.app_id and self._secret)

    def __repr__(self) -> str:
        return f"WechatClient(app_id={self.app_id!r})"

    async def _call(self, method: str, path: str, params: dict[str, str], body: Any = None) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as http:
                response = await http.request(method, f"{self.api_base}{path}", params=params, json=body)
        except httpx.HTTPError as exc:
            raise WechatUnavailable(type(exc).__name__) from None
        if response.status_code >= 500:
            raise WechatUnavailable(str(response.status_code))
        try:
            data = response.json()
        except ValueError:
            raise WechatUnavailable("not_json") from None
        errcode = int(data.get("errcode") or 0)
        if errcode == BUSY:
            raise WechatUnavailable("busy")
        if errcode:
            raise WechatError(errcode, str(data.get("errmsg", "")))
        return dict(data)

    async def code2session(self, code: str) -> Session:
        data = await self._call(
            "GET",
            "/sns/jscode2session",
            {"appid": self.app_id, "secret": self._secret, "js_code": code, "grant_type": "authorization_code"},
        )
        if not data.get("openid"):
            raise WechatError(INVALID_CODE, "no openid")
        return Session(openid=str(data["openid"]), unionid=data.get("unionid"))

    async def fetch_token(self) -> Token:
        data = await self._call(
            "GET", "/cgi-bin/token", {"grant_type": "client_credential", "appid": self.app_id, "secret": self._secret}
        )
        return Token(access_token=str(data["access_token"]), expires_in=int(data.get("expires_in", 7200)))

    async def phone_number(self, access_token: str, code: str) -> str:
        """The pure phone number (no country code) of a ``getPhoneNumber`` button's code."""
        data = await self._call(
            "POST", "/wxa/business/getuserphonenumber", {"access_token": access_token}, {"code": code}
        )
        return str(data["phone_info"]["purePhoneNumber"])

    async def subscribe_send(
        self, access_token: str, openid: str, template_id: str, page: str, data: dict[str, dict[str, str]]
    ) -> None:
        await self._call(
            "POST",
            "/cgi-bin/message/subscribe/send",
            {"access_token": access_token},
            {"touser": openid, "template_id": template_id, "page": page, "data": data, "lang": "zh_CN"},
        )
