"""The OpenAPI document as committed under openapi/: generated from the code, stable byte for byte."""

from __future__ import annotations

import json
import tempfile

from member_api.settings import Settings


def render_openapi() -> str:
    from member_api.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(data_dir=tmp, database_url=f"sqlite:///{tmp}/x.sqlite3", sms_backend="none"))
        schema = app.openapi_schema.to_schema()
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def request_structs() -> list[type]:
    """Every msgspec Struct a route accepts as a request body (they live in the areas' schemas modules)."""
    import importlib
    import importlib.util
    import pkgutil

    import msgspec

    import member_api

    found: list[type] = []
    for area in pkgutil.iter_modules(member_api.__path__):
        if not area.ispkg or importlib.util.find_spec(f"member_api.{area.name}.schemas") is None:
            continue
        module = importlib.import_module(f"member_api.{area.name}.schemas")
        found += [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, msgspec.Struct)]
    return found
