"""Server-rendered web pages on the areas' own services: ``common`` (session cookie, CSRF, base template, static
files, error pages) and one package per audience (``app``: the residents' H5 at /app/).

``route_handlers()`` and ``template_config()`` are what ``member_api.app`` registers; a new audience (the staff
console) adds its router, static folder and template folder here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from litestar import Request, Response
from litestar.template.config import TemplateConfig

from member_api.web.app import routes as app_routes
from member_api.web.app.routes import TEMPLATES as APP_TEMPLATES
from member_api.web.common.errors import error_page
from member_api.web.common.pages import static_router
from member_api.web.common.pages import template_config as common_config
from member_api.web.console import routes as console_routes
from member_api.web.console.routes import TEMPLATES as CONSOLE_TEMPLATES

AREAS = ("/app", "/console")  # path prefixes served by web areas


def route_handlers() -> list[Any]:
    return [
        static_router(),
        app_routes.router(),
        app_routes.static_router(),
        console_routes.router(),
        console_routes.static_router(),
    ]


def template_config() -> TemplateConfig[Any]:
    return common_config([APP_TEMPLATES, CONSOLE_TEMPLATES])


def exception_handlers(api: Mapping[Any, Callable[..., Response[Any]]]) -> dict[Any, Callable[..., Response[Any]]]:
    """The app-level handlers: the API's problem+json, except under a web area, where a page in words answers even
    what routing refuses before any area handler runs (an unknown path, a GET on a form's target)."""
    fallback = api[Exception]

    def handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        path = request.url.path
        if any(path == area or path.startswith(area + "/") for area in AREAS):
            return error_page(request, exc)
        return fallback(request, exc)

    return {**api, Exception: handler}
