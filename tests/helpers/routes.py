"""The app's route table as test cases: each route with its caller role, query parameters and body fields."""

from __future__ import annotations

import tempfile
import typing
from dataclasses import dataclass, field
from typing import Any

import msgspec.inspect as mi
from litestar.enums import RequestEncodingType
from litestar.params import BodyKwarg
from litestar.routes import HTTPRoute

from member_api import db
from member_api.app import create_app
from member_api.settings import Settings
from tests.helpers import member_headers, staff_headers

ROLE_OF_DEPENDENCY = {
    "caller": "member",
    "account": "member",
    "subject_member_id": "member",
    "principal": "member",
    "clerk": "clerk",
    "reviewer": "reviewer",
    "staff": "reviewer",
    "officer": "officer",
}
NOT_QUERY = {"request", "scope", "headers", "cookies", "state", "socket", "body"}
STRINGISH = (mi.StrType, mi.LiteralType, mi.DateType, mi.DateTimeType, mi.TimeType, mi.UUIDType, mi.EnumType)
SCALARS = {mi.IntType: "100", mi.FloatType: "1.5", mi.BoolType: "true"}


@dataclass
class Endpoint:
    method: str
    path: str
    role: str | None
    guarded: bool = False  # a guard refuses the caller before any input is read: any 4xx problem will do
    query: list[str] = field(default_factory=list)
    json_strings: list[str] = field(default_factory=list)  # field paths: items[0].reason
    json_scalars: list[tuple[str, str]] = field(default_factory=list)  # (field path, the value as a string)
    has_json: bool = False
    form_text: list[str] = field(default_factory=list)
    form_files: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def _unwrap(info: mi.Type) -> mi.Type:
    while True:
        if isinstance(info, mi.Metadata):
            info = info.type
        elif isinstance(info, mi.UnionType):
            options = [t for t in info.types if not isinstance(t, mi.NoneType)]
            info = options[0]
        else:
            return info


def _leaves(info: mi.Type, path: str = "") -> typing.Iterator[tuple[str, mi.Type]]:
    """Every scalar field of a body type, as (msgspec-style path, type)."""
    info = _unwrap(info)
    if isinstance(info, mi.StructType | mi.DataclassType):
        for f in info.fields:
            yield from _leaves(f.type, f"{path}.{f.encode_name}" if path else f.encode_name)
    elif isinstance(info, mi.ListType):
        yield from _leaves(info.item_type, f"{path}[0]")
    else:
        yield path, info


def nest(path: str, value: Any) -> Any:
    """The smallest JSON body that puts ``value`` at ``path`` (``items[0].reason``)."""
    body: Any = value
    for part in reversed(path.replace("[0]", ".[0]").split(".")):
        if part:  # a top-level array body (``[0].success``) has no key before its first index
            body = [body] if part == "[0]" else {part: body}
    return body


def route_table() -> list[Endpoint]:
    """Every HTTP method of every route of a fresh app, with its caller role, query parameters and body fields."""
    settings = Settings(data_dir=tempfile.mkdtemp(prefix="route-table-"), sms_backend="none")
    app = create_app(settings, engine=db.current_engine())
    endpoints = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                params = handler.parsed_fn_signature.parameters
                dependencies = set(handler.resolve_dependencies())
                roles = [ROLE_OF_DEPENDENCY[name] for name in params if name in ROLE_OF_DEPENDENCY]
                path = route.path
                for name in route.path_parameters:
                    path = path.replace("{" + f"{name}:int" + "}", "1")
                    path = path.replace("{" + f"{name}:path" + "}", "x").replace("{" + f"{name}:str" + "}", "x")
                endpoint = Endpoint(method, path, roles[0] if roles else None, bool(handler.resolve_guards()))
                for name, definition in params.items():
                    if name in dependencies or name in route.path_parameters or name in NOT_QUERY or name == "data":
                        continue
                    endpoint.query.append(definition.kwarg_definition.query if _has_alias(definition) else name)
                if data := params.get("data"):
                    kwarg = data.kwarg_definition
                    is_form = isinstance(kwarg, BodyKwarg) and kwarg.media_type == RequestEncodingType.MULTI_PART
                    for leaf, info in _leaves(mi.type_info(data.annotation)):
                        if is_form:
                            target = endpoint.form_files if isinstance(info, mi.CustomType) else endpoint.form_text
                            target.append(leaf.removesuffix("[0]"))
                        elif isinstance(info, STRINGISH):
                            endpoint.json_strings.append(leaf)
                        elif type(info) in SCALARS:
                            endpoint.json_scalars.append((leaf, SCALARS[type(info)]))
                    endpoint.has_json = not is_form
                endpoints.append(endpoint)
    return endpoints


def _has_alias(definition: Any) -> bool:
    return getattr(definition.kwarg_definition, "query", None) is not None


async def role_headers(client: Any) -> dict[str | None, dict[str, str]]:
    """Authorization headers for every role an endpoint may need (``None``: anonymous)."""
    return {
        None: {},
        "member": await member_headers(client),
        "clerk": await staff_headers(client, "clerk_zj_dh"),
        "reviewer": await staff_headers(client, "reviewer_agency"),
        "officer": await staff_headers(client, "officer_agency"),
    }
