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
    import msgspec

    return [v for v in _schema_types() if issubclass(v, msgspec.Struct)]


def request_forms() -> list[type]:
    """Every dataclass a route accepts as a multipart form (in the areas' schemas modules)."""
    import dataclasses

    return [v for v in _schema_types() if dataclasses.is_dataclass(v)]


def _schema_types() -> list[type]:
    import importlib
    import importlib.util
    import pkgutil

    import member_api

    found: list[type] = []
    for area in pkgutil.iter_modules(member_api.__path__):
        if not area.ispkg or importlib.util.find_spec(f"member_api.{area.name}.schemas") is None:
            continue
        module = importlib.import_module(f"member_api.{area.name}.schemas")
        found += [v for v in vars(module).values() if isinstance(v, type) and v.__module__ == module.__name__]
    return found
