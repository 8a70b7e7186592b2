"""Local fakes of the message providers, speaking their wire protocols (signatures are not checked).

- Tencent Cloud SMS 2021-01-11: a JSON POST with ``X-TC-Action: SendSms`` and a TC3-HMAC-SHA256 Authorization
  header; answers ``{"Response": {"SendStatusSet": [...], "RequestId": ...}}`` or ``{"Response": {"Error": ...}}``.
- Alibaba Cloud Dysmsapi 2017-05-25: a POST with ``x-acs-action: SendSms`` (or ``Action=``) and the parameters in
  the query (or form body); answers ``{"Code": "OK", "BizId": ...}`` or ``{"Code": "isv...."}``.
- WeChat: ``/sns/jscode2session``, ``/cgi-bin/token``, ``/wxa/business/getuserphonenumber`` and
  ``/cgi-bin/message/subscribe/send``, answering ``errcode``/``errmsg`` JSON.

Each fake runs in a thread on a free loopback port. ``mode`` switches it: ``ok``, ``down`` (HTTP 503),
``slow`` (answers after ``delay_s``); ``answers`` maps a phone (or wx code) to a provider error code.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class Fake:
    def __init__(self) -> None:
        self.mode = "ok"
        self.delay_s = 10.0
        self.answers: dict[str, Any] = {}
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: Any) -> None:
                raw = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if fake.mode == "slow":
                    time.sleep(fake.delay_s)
                if fake.mode == "down":
                    self._answer(503, {"error": "service unavailable"})
                    return
                status, answer = fake.handle(self.command, self.path, dict(self.headers), body)
                self._answer(status, answer)

            do_GET = _handle
            do_POST = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def record(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.requests.append(entry)

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        raise NotImplementedError

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeTencentSms(Fake):
    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        lowered = {k.lower(): v for k, v in headers.items()}
        request_id = str(uuid.uuid4())
        if not lowered.get("authorization", "").startswith("TC3-HMAC-SHA256 Credential="):
            error = {"Code": "AuthFailure.SignatureFailure", "Message": "signature missing"}
            return 200, {"Response": {"Error": error, "RequestId": request_id}}
        if lowered.get("x-tc-action") != "SendSms" or lowered.get("x-tc-version") != "2021-01-11":
            error = {"Code": "InvalidAction", "Message": "unknown action"}
            return 200, {"Response": {"Error": error, "RequestId": request_id}}
        params = json.loads(body)
        phone = params["PhoneNumberSet"][0]
        self.record({"phone": phone, **params})
        code = self.answers.get(phone.removeprefix("+86"), "Ok")
        if code.startswith(("InternalError", "FailedOperation.InsufficientBalance", "AuthFailure")):
            error = {"Code": code, "Message": "fake failure"}
            return 200, {"Response": {"Error": error, "RequestId": request_id}}
        status = {
            "SerialNo": f"2640:{uuid.uuid4().int % 10**18}",
            "PhoneNumber": phone,
            "Fee": 1 if code == "Ok" else 0,
            "SessionContext": params.get("SessionContext", ""),
            "Code": code,
            "Message": "send success" if code == "Ok" else "fake refusal",
            "IsoCode": "CN",
        }
        return 200, {"Response": {"SendStatusSet": [status], "RequestId": request_id}}


class FakeAliyunSms(Fake):
    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        lowered = {k.lower(): v for k, v in headers.items()}
        query = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
        if body and "form" in lowered.get("content-type", ""):
            query.update({k: v[0] for k, v in parse_qs(body.decode()).items()})
        request_id = str(uuid.uuid4())
        action = lowered.get("x-acs-action") or query.get("Action")
        if action != "SendSms":
            return 404, {
                "Code": "InvalidAction.NotFound",
                "Message": "Specified api is not found",
                "RequestId": request_id,
            }
        if not (lowered.get("authorization", "").startswith("ACS3-HMAC-SHA256") or "Signature" in query):
            return 400, {"Code": "MissingSignature", "Message": "signature missing", "RequestId": request_id}
        self.record(query)
        code = self.answers.get(query.get("PhoneNumbers", ""), "OK")
        if code == "isp.SYSTEM_ERROR":
            return 500, {"Code": code, "Message": "system error", "RequestId": request_id}
        if code == "OK":
            biz_id = f"{uuid.uuid4().int % 10**18}^0"
            return 200, {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": request_id}
        return 200, {"Code": code, "Message": "fake refusal", "RequestId": request_id}


class FakeWechat(Fake):
    """``sessions`` maps a wx.login code to its openid; ``phones`` maps a phone-number grant code to a phone."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions: dict[str, str] = {}
        self.phones: dict[str, str] = {}
        self.tokens_issued = 0
        self.valid_tokens: set[str] = set()
        self.subscribe_answers: list[int] = []
        self.sent: list[dict[str, Any]] = []

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        parts = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/sns/jscode2session":
            if query.get("appid") != "wxapp" or query.get("secret") != "wxsecret":
                return 200, {"errcode": 40013, "errmsg": "invalid appid"}
            code = query.get("js_code", "")
            if self.answers.get(code):
                return 200, {"errcode": self.answers[code], "errmsg": "fake error"}
            if code not in self.sessions:
                return 200, {"errcode": 40029, "errmsg": "invalid code"}
            openid = self.sessions.pop(code)  # a code is good once
            return 200, {"openid": openid, "session_key": "c2Vzc2lvbmtleQ==", "unionid": f"u-{openid}"}
        if parts.path == "/cgi-bin/token":
            with self.lock:
                self.tokens_issued += 1
                token = f"token-{self.tokens_issued}"
                self.valid_tokens = {token}
            return 200, {"access_token": token, "expires_in": 7200}
        if query.get("access_token") not in self.valid_tokens:
            return 200, {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
        payload = json.loads(body or b"{}")
        if parts.path == "/wxa/business/getuserphonenumber":
            phone = self.phones.get(payload.get("code", ""))
            if phone is None:
                return 200, {"errcode": 40029, "errmsg": "invalid code"}
            info = {"phoneNumber": phone, "purePhoneNumber": phone, "countryCode": "86", "watermark": {}}
            return 200, {"errcode": 0, "errmsg": "ok", "phone_info": info}
        if parts.path == "/cgi-bin/message/subscribe/send":
            with self.lock:
                errcode = self.subscribe_answers.pop(0) if self.subscribe_answers else 0
                if errcode == 0:
                    self.sent.append(payload)
            if errcode:
                return 200, {"errcode": errcode, "errmsg": "fake error"}
            return 200, {"errcode": 0, "errmsg": "ok", "msgid": len(self.sent)}
        return 404, {"errcode": 404, "errmsg": "not found"}


def wait_for(condition: Any, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
