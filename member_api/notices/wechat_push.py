"""Subscription messages (订阅消息) for the notice outbox: one message per accepted one-time subscription.

A notice goes to the openid of the WeChat user linked to the recipient's phone account, through the template
configured for its kind (``MEMBER_API_WECHAT_TEMPLATES``), opening the mini-program's notice page. The app's access
token is shared by all workers (``auth.service.wechat_access_token``) and fetched again when WeChat refuses it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from member_api.auth import service as auth
from member_api.core import wechat
from member_api.core.clock import LOCAL_TZ
from member_api.core.context import AppContext
from member_api.core.push import OutgoingNotice, PushRetry, PushSkipped
from member_api.core.wechat import WechatError, WechatUnavailable
from member_api.notices import queries

log = logging.getLogger("member_api.notices")


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def template_data(notice: OutgoingNotice, title: str) -> dict[str, dict[str, str]]:
    """The template's keywords: ``thing1`` what (≤20 chars), ``time2`` when, ``thing3`` the text (≤20 chars)."""
    created = notice.created_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    summary = notice.text_zh.removeprefix("【韶关医保】")
    return {
        "thing1": {"value": _clip(title, 20)},
        "time2": {"value": created},
        "thing3": {"value": _clip(summary, 20)},
    }


class WechatPush:
    def __init__(self, ctx: AppContext, titles: dict[str, str]) -> None:
        self.ctx = ctx
        self.titles = titles

    async def send(self, notice: OutgoingNotice, at: datetime) -> None:
        ctx = self.ctx
        template = ctx.settings.wechat_template_map.get(notice.kind)
        if not template:
            raise PushSkipped("no_template")
        openid = (await auth.openids_of_members([notice.recipient])).get(notice.recipient)
        if openid is None:
            raise PushSkipped("no_wechat_user")
        if not await queries.spend_subscription(notice.recipient, notice.kind, at):
            raise PushSkipped("not_subscribed")
        page = f"{ctx.settings.wechat_page}?id={notice.id}"
        data = template_data(notice, self.titles.get(notice.kind, "医保消息"))
        try:
            token = await auth.wechat_access_token(ctx)
            try:
                await ctx.wechat.subscribe_send(token, openid, template, page, data)
            except WechatError as exc:
                if exc.errcode not in wechat.TOKEN_INVALID:
                    raise
                token = await auth.wechat_access_token(ctx, stale=token)
                await ctx.wechat.subscribe_send(token, openid, template, page, data)
        except WechatError as exc:
            if exc.errcode == wechat.NOT_SUBSCRIBED:  # the user withdrew it in WeChat's settings
                raise PushSkipped("not_subscribed") from None
            # not used (its rate limit 45009, a bad template, ...): give it back and try again later
            await queries.add_subscriptions(notice.recipient, notice.kind, 1, at)
            raise PushRetry(f"wechat_{exc.errcode}") from None
        except WechatUnavailable as exc:
            await queries.add_subscriptions(notice.recipient, notice.kind, 1, at)
            raise PushRetry(f"wechat_unavailable_{exc}") from None
