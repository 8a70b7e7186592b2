"""A fake national e-credential decoding service (``ec.query``), speaking the platform's HTTP shape.

POST JSON ``{"data": {"businessType", "ecQrCode", "orgId", ...}, "orgId", "transType": "ec.query"}`` with the
gateway headers (``x-tif-paasid``, ``x-tif-timestamp``, ``x-tif-nonce``, ``x-tif-signature`` = SHA-256 of timestamp +
token + nonce + timestamp) -> ``{"code": 0, "message": "成功", "data": "<JSON string>"}`` naming the holder, or a
non-zero code for an unknown code. ``down`` makes it answer 503; ``slow_s`` delays every answer.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PAAS_ID, PAAS_TOKEN = "member-api-test", "fake-paas-token"


class FakeDecoder:
    def __init__(self, codes: dict[str, dict[str, str]]) -> None:
        self.codes = codes
        self.down = False
        self.slow_s = 0.0
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append({"body": body, "headers": dict(self.headers)})
                if fake.slow_s:
                    time.sleep(fake.slow_s)
                if fake.down:
                    self._send(503, {"code": -1, "message": "维护中"})
                    return
                stamp, nonce = self.headers.get("x-tif-timestamp", ""), self.headers.get("x-tif-nonce", "")
                expected = hashlib.sha256(f"{stamp}{PAAS_TOKEN}{nonce}{stamp}".encode()).hexdigest()
                if self.headers.get("x-tif-paasid") != PAAS_ID or self.headers.get("x-tif-signature") != expected:
                    self._send(401, {"code": 401, "message": "signature"})
                    return
                if body.get("transType") != "ec.query":
                    self._send(200, {"code": -1, "message": "unknown transType"})
                    return
                holder = fake.codes.get(body.get("data", {}).get("ecQrCode", ""))
                if holder is None:
                    self._send(200, {"code": 10001, "message": "电子凭证无效或已过期"})
                    return
                data = {
                    "idNo": holder["id_number"],
                    "idType": "01",
                    "userName": holder["name"],
                    "ecToken": "440200ec" + holder["id_number"][-6:],
                    "insuOrg": "440200",
                    "ecIndexNo": "X",
                }
                self._send(200, {"code": 0, "message": "成功", "data": json.dumps(data, ensure_ascii=False)})

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                raw = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/localcfc/api/hsecfc/localQrCodeQuery"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeDecoder:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
