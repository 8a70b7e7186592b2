"""Server-rendered web pages on the areas' own services: ``common`` (session cookie, CSRF, base template, static
files, error pages) and one package per audience (``app``: the residents' H5 at /app/).

``route_handlers()`` and ``template_config()`` are what ``member_api.app`` registers; a new audience (the staff
console) adds its router, static folder and template folder here.
"""

from __future__ import annotations

from typing import Any

from litestar.template.config import TemplateConfig


def route_handlers() -> list[Any]:
    from member_api.web.app import routes as app_routes
    from member_api.web.common.pages import static_router

    return [static_router(), app_routes.router(), app_routes.static_router()]


def template_config() -> TemplateConfig[Any]:
    from member_api.web.app.routes import TEMPLATES as APP_TEMPLATES
    from member_api.web.common.pages import template_config as common_config

    return common_config([APP_TEMPLATES])
