"""What every request may use: settings, keys, the clock, the SMS sender, the blob store, the WeChat client."""

from __future__ import annotations

from dataclasses import dataclass, field

from litestar import Request

from member_api.core.caches import Caches
from member_api.core.clock import Clock
from member_api.core.keys import KeyRing
from member_api.core.push import NoPushSender, PushSender
from member_api.core.sms import SmsSender
from member_api.core.storage import BlobStore
from member_api.core.wechat import WechatClient
from member_api.settings import Settings


@dataclass
class AppContext:
    settings: Settings
    keyring: KeyRing
    clock: Clock
    sms: SmsSender
    blobs: BlobStore
    caches: Caches = field(default_factory=Caches)
    push: PushSender = field(default_factory=NoPushSender)
    wechat: WechatClient = field(default_factory=lambda: WechatClient("", "", ""))


def provide_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
