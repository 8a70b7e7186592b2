"""Rendering pages: the template engine (Jinja2 through litestar), filters, static URLs, flash messages, headers."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import pass_context
from litestar import MediaType, Request
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from member_api.core.clock import LOCAL_TZ
from member_api.web.common.fields import field_label
from member_api.web.common.session import session_of

HERE = Path(__file__).parent
STATIC_PATH = "/web-static"
# Pages are personal: never stored by a browser or a proxy; no framing, no sniffing, no third-party host.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'",
    "Permissions-Policy": "geolocation=(self), camera=(self), microphone=()",
}


def yuan(fen: int | None) -> str:
    """12345 -> "123.45": money is integer fen everywhere, yuan only on screen."""
    fen = int(fen or 0)
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return (value.astimezone(LOCAL_TZ) if value.tzinfo else value).strftime(fmt)


def day(value: date | None) -> str:
    return value.isoformat() if value else ""


@cache
def _static_roots() -> dict[str, Path]:
    return {STATIC_PATH: HERE / "static"}


_extra_roots: dict[str, Path] = {}


def register_static(url_path: str, directory: Path) -> None:
    """An area's own static folder, so ``static_url`` can version its files too."""
    _extra_roots[url_path] = directory


@cache
def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10] if path.is_file() else "0"


def static_url(url: str) -> str:
    """``/web-static/common.css?v=<content hash>``: cached long by browsers, renewed when the file changes."""
    for root, folder in {**_static_roots(), **_extra_roots}.items():
        if url.startswith(root + "/"):
            return f"{url}?v={_digest(folder / url[len(root) + 1 :])}"
    return url


@pass_context
def _messages(context: Any) -> list[dict[str, str]]:
    """Flash messages left by the previous request (after a redirect), shown once."""
    request = context.get("request")
    if request is None:
        return []
    session = session_of(request)
    flashed = session.get("flash") or []
    if flashed:
        session.update(flash=None)
    return [*flashed, *context.get("notices", [])]


def template_config(directories: Iterable[Path]) -> TemplateConfig[JinjaTemplateEngine]:
    def setup(engine: JinjaTemplateEngine) -> None:
        env = engine.engine
        env.filters.update(yuan=yuan, local_time=local_time, day=day)
        env.globals.update(static_url=static_url, messages=_messages, field_label=field_label)
        env.trim_blocks = env.lstrip_blocks = True

    return TemplateConfig(
        directory=[HERE / "templates", *directories], engine=JinjaTemplateEngine, engine_callback=setup
    )


def static_router() -> Any:
    return create_static_files_router(
        path=STATIC_PATH, directories=[HERE / "static"], include_in_schema=False, name="web-static"
    )


def flash(request: Request[Any, Any, Any], text: str, kind: str = "ok") -> None:
    session = session_of(request)
    session.update(flash=[*(session.get("flash") or []), {"kind": kind, "text": text}])


def page(template: str, status: int = 200, **context: Any) -> Template:
    return Template(
        template_name=template, context=context, status_code=status, headers=PAGE_HEADERS, media_type=MediaType.HTML
    )


def redirect(location: str) -> Redirect:
    """303 after a POST: the browser GETs the result page (no resubmission on reload)."""
    return Redirect(location, status_code=303, headers=PAGE_HEADERS)


def local_path(candidate: str | None, default: str, prefix: str) -> str:
    """A ``next=`` target only when it is a path of this area (no open redirect)."""
    if candidate and candidate.startswith(prefix) and not candidate.startswith("//") and "\\" not in candidate:
        return candidate
    return default
