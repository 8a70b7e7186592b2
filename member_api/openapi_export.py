"""The OpenAPI document as committed under openapi/: generated from the code, stable byte for byte."""

from __future__ import annotations

import json
import tempfile

from member_api.app import create_app
from member_api.settings import Settings


def render_openapi() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(data_dir=tmp, database_url=f"sqlite:///{tmp}/x.sqlite3", sms_backend="none"))
        schema = app.openapi_schema.to_schema()
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
