"""The OpenAPI contract for client generators, beyond what litestar derives from the signatures.

A route names the domain problems it can answer in its decorator (``opt=problems("code", ...)``, each code's status
from the one table in ``core/problems.py``); the
generic ones follow from its signature (a bearer guard: 401/403; a body: 400/413/422, and the upload checks when a
form carries files; path ids: 404/422; query parameters, its own or a dependency's: 400/422; an
``Idempotency-Key``, taken wherever the handler calls ``run_idempotent``: 400/409/422). ``refine`` then shapes the
built document: only those error responses, the ``Idempotency-Key`` header where it is required, and every enum a
named schema.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import pkgutil
import re
import typing
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType
from typing import Any

import msgspec
from litestar.datastructures import UploadFile
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import Example, OpenAPI, Operation, Reference, Schema
from litestar.openapi.spec import Parameter as ParameterSpec

from member_api.core.idempotency import PROBLEMS as IDEMPOTENCY_PROBLEMS
from member_api.core.idempotency import header_parameter, run_idempotent
from member_api.core.problems import STATUS, by_status
from member_api.core.uploads import PROBLEMS as UPLOAD_PROBLEMS

OPT_PROBLEMS = "problems"
OPT_IDEMPOTENT = "idempotent"

# What a bearer token check answers (core.tokens' reasons); the role guards add 403.
AUTH_CODES = (
    "unauthorized",
    "token_expired",
    "token_invalid",
    "token_malformed",
    "token_not_yet_valid",
    "session_ended",
)
# Query names and values are checked app-wide (core.edge): not UTF-8, or a control character in them.
QUERY = ("malformed_query", "control_character")
_BEARER = (*AUTH_CODES, "forbidden")
GUARDS: dict[str, tuple[str, ...]] = {
    "principal": AUTH_CODES,
    "account": _BEARER,
    "clerk": _BEARER,
    "reviewer": _BEARER,
    "staff": _BEARER,
    "officer": _BEARER,
    "caller": (*_BEARER, "binding_required"),
    # ``?member_id=`` names a dependant or a member who authorised the caller (P1); anyone else's is 404. A query
    # parameter, so the query checks answer too.
    "subject_member_id": (*QUERY, "family_scope_missing", "not_found", "validation_error"),
}
JSON_BODY = ("malformed_json", "body_too_deep", "body_too_large", "validation_error", "control_character")
# A multipart body that cannot be parsed, or a text part that is not UTF-8 (a file sent without a filename).
FORM_BODY = (
    "bad_request",
    "malformed_body",
    "malformed_form",
    "body_too_large",
    "validation_error",
    "control_character",
)
NOT_PARAMETERS = {"self", "ctx", "request", "data", *GUARDS}
_PATH_PARAM = re.compile(r"{(\w+)(?::\w+)?}")


def problems(*codes: str, idempotent: bool = False) -> dict[str, Any]:
    """A route's ``opt``: the problem codes its service can answer (their statuses: ``core/problems.py``), and
    whether it takes an ``Idempotency-Key`` (then it also answers the idempotency problems; implied when it calls
    ``run_idempotent``)."""
    unknown = [code for code in codes if code not in STATUS]
    if unknown:
        raise KeyError(f"problem codes missing from core/problems.py: {unknown}")
    return {OPT_PROBLEMS: tuple(codes), OPT_IDEMPOTENT: idempotent}


def operation_problems(handler: HTTPRouteHandler) -> dict[int, list[str]]:
    """Status -> problem codes the operation can answer: the declared ones and those its signature implies."""
    found: dict[int, set[str]] = {}

    def add(codes: Iterable[str]) -> None:
        for status, listed in by_status(codes).items():
            found.setdefault(status, set()).update(listed)

    signature = inspect.signature(handler.fn)
    names = set(signature.parameters)
    for name in names & set(GUARDS):
        add(GUARDS[name])
    if "data" in names:
        multipart = "MULTI_PART" in str(signature.parameters["data"].annotation)
        add(FORM_BODY if multipart else JSON_BODY)
        if multipart and _form_has_files(handler):
            add(UPLOAD_PROBLEMS)
    path_params = {name for path in handler.paths for name in _PATH_PARAM.findall(path)}
    if path_params:
        add(("not_found", "validation_error"))
    if names - NOT_PARAMETERS - path_params:
        add(("validation_error", *QUERY))
    if takes_idempotency_key(handler):
        add(IDEMPOTENCY_PROBLEMS)
    add((handler.opt or {}).get(OPT_PROBLEMS, ()))
    return {status: sorted(codes) for status, codes in sorted(found.items())}


def takes_idempotency_key(handler: HTTPRouteHandler) -> bool:
    """Declared (``problems(idempotent=True)``), or the handler hands its work to ``run_idempotent`` itself."""
    return bool((handler.opt or {}).get(OPT_IDEMPOTENT)) or run_idempotent.__name__ in handler.fn.__code__.co_names


def _form_has_files(handler: HTTPRouteHandler) -> bool:
    """Whether the multipart body type has an ``UploadFile`` field (then every upload check can answer)."""
    form = typing.get_args(typing.get_type_hints(handler.fn, include_extras=True)["data"])[0]
    return any(_mentions(hint, UploadFile) for hint in typing.get_type_hints(form).values())


def _mentions(hint: Any, wanted: type) -> bool:
    return hint is wanted or any(_mentions(arg, wanted) for arg in typing.get_args(hint))


def refine(
    openapi: OpenAPI,
    handlers: Mapping[tuple[str, str], HTTPRouteHandler],
    enum_names: Mapping[frozenset[str], str],
) -> None:
    """Shape the built document for client generators (see the module docstring); ``handlers`` by (path, method)."""
    components = openapi.components.schemas if openapi.components and openapi.components.schemas else {}
    namer = _EnumNamer(components, enum_names)
    for name in sorted(components):
        components[name] = namer.visit(components[name], name, top=True)
    for path, path_item in (openapi.paths or {}).items():
        for method in ("get", "put", "post", "delete", "patch"):
            operation: Operation | None = getattr(path_item, method)
            if operation is None:
                continue
            handler = handlers.get((path, method))
            declared = {*operation_problems(handler), *(handler.responses or {})} if handler else set()
            hint = _pascal(operation.operation_id or "")
            if operation.responses:
                for status in [s for s in operation.responses if s.startswith("4") and int(s) not in declared]:
                    del operation.responses[status]  # litestar's generic 400 for "validation", answered as 422 here
                for status, response in operation.responses.items():
                    for media in getattr(response, "content", None) or {}:
                        content = response.content[media]
                        if content.schema is not None:
                            content.schema = namer.visit(content.schema, f"{hint}Response{status}")
                        for example in (content.examples or {}).values():
                            if isinstance(example, Example):
                                example.id = None  # litestar's key for the map, not a member of an Example Object
            if handler and takes_idempotency_key(handler):
                operation.parameters = [*(operation.parameters or []), header_parameter()]
            for parameter in operation.parameters or []:
                if isinstance(parameter, ParameterSpec) and parameter.schema is not None:
                    parameter.schema = namer.visit(parameter.schema, hint + _pascal(parameter.name))
            if operation.request_body is not None:
                for media in (operation.request_body.content or {}).values():
                    if media.schema is not None:
                        media.schema = namer.visit(media.schema, hint + "Body")
    components.update(namer.created)
    _mark_deprecated(components)


def _mark_deprecated(components: Mapping[str, Any]) -> None:
    """A body field documented as "Deprecated ..." is flagged ``deprecated`` (litestar does not carry msgspec's
    ``extra_json_schema``), so client generators warn on it (issue 29: the three typed totals)."""
    for schema in components.values():
        for prop in (getattr(schema, "properties", None) or {}).values():
            if isinstance(prop, Schema) and (prop.description or "").startswith("Deprecated"):
                prop.deprecated = True


def _pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)


class _EnumNamer:
    """Replace inline string enums by references to named component schemas (shared by value set)."""

    def __init__(self, components: dict[str, Schema], names: Mapping[frozenset[str], str]) -> None:
        self.components, self.names = components, names
        self.created: dict[str, Schema] = {}
        self.by_values: dict[frozenset[str], str] = {}

    def _name_for(self, values: frozenset[str], hint: str) -> str:
        if values in self.by_values:
            return self.by_values[values]
        name = self.names.get(values) or hint
        while name in self.components or name in self.created:
            name += "Value"
        self.by_values[values] = name
        self.created[name] = Schema(type="string", enum=sorted(values), title=name)
        return name

    def visit(self, node: Any, hint: str, top: bool = False) -> Any:
        if isinstance(node, Schema):
            values = [v for v in node.enum or [] if v is not None]
            if not top and values and all(isinstance(v, str) for v in values):
                ref = Reference(ref=f"#/components/schemas/{self._name_for(frozenset(values), hint)}")
                nullable = None in (node.enum or []) or (isinstance(node.type, list) and "null" in node.type)
                extra = {
                    f.name: getattr(node, f.name)
                    for f in dataclasses.fields(node)
                    if f.name in ("description", "default", "examples") and getattr(node, f.name) is not None
                }
                if nullable:
                    return Schema(one_of=[ref, Schema(type="null")], **extra)
                return Schema(all_of=[ref], **extra) if extra else ref
            for field in dataclasses.fields(node):
                value = getattr(node, field.name)
                if field.name == "properties" and value:
                    setattr(node, field.name, {k: self.visit(v, hint + _pascal(k)) for k, v in value.items()})
                elif isinstance(value, (Schema, list, tuple)):
                    setattr(node, field.name, self.visit(value, hint))
            return node
        if isinstance(node, (list, tuple)):
            return [self.visit(item, hint) for item in node]
        return node


def each_handler(controllers: Iterable[type]) -> Iterable[HTTPRouteHandler]:
    for controller in controllers:
        for value in vars(controller).values():
            if isinstance(value, HTTPRouteHandler):
                yield value


ProblemResponses = Callable[[dict[int, list[str]]], dict[int, Any]]


def declare_problem_responses(handlers: Iterable[HTTPRouteHandler], build: ProblemResponses) -> None:
    """Give each handler the problem responses it can answer (before the app builds its document)."""
    for handler in handlers:
        declared = build(operation_problems(handler))
        own = {status: spec for status, spec in (handler.responses or {}).items() if status not in declared}
        handler.responses = {**declared, **own}


# ---- request bodies: what the signatures alone do not say ---------------------------------------------------------


def schema_types(package: ModuleType) -> list[type]:
    """Every class defined in an area's ``schemas`` module of ``package`` (the composition root passes its own
    package, so the kernel imports no area by name)."""
    found: list[type] = []
    for area in pkgutil.iter_modules(package.__path__):
        name = f"{package.__name__}.{area.name}.schemas"
        if not area.ispkg or importlib.util.find_spec(name) is None:
            continue
        module = importlib.import_module(name)
        found += [v for v in vars(module).values() if isinstance(v, type) and v.__module__ == module.__name__]
    return found


def close_request_schemas(openapi: OpenAPI, types: Iterable[type]) -> None:
    """Say ``additionalProperties: false`` for request bodies that refuse unknown fields, as they do."""
    schemas = openapi.components.schemas if openapi.components and openapi.components.schemas else {}
    for struct in (t for t in types if issubclass(t, msgspec.Struct)):
        config = getattr(struct, "__struct_config__", None)
        schema = schemas.get(struct.__name__)
        if config is not None and config.forbid_unknown_fields and isinstance(schema, Schema):
            schema.additional_properties = False


_META_TO_SCHEMA = {
    "ge": "minimum",
    "le": "maximum",
    "min_length": "min_length",
    "max_length": "max_length",
    "pattern": "pattern",
}


def constrain_form_fields(openapi: OpenAPI, types: Iterable[type]) -> None:
    """State the bounds of multipart form fields (``msgspec.Meta`` on dataclass fields), which the server checks."""
    schemas = openapi.components.schemas if openapi.components and openapi.components.schemas else {}
    for form in (t for t in types if dataclasses.is_dataclass(t)):
        schema = schemas.get(form.__name__)
        if not isinstance(schema, Schema) or not schema.properties:
            continue
        hints = typing.get_type_hints(form, include_extras=True)
        for field in dataclasses.fields(form):
            prop = schema.properties.get(field.name)
            metas = _metas(hints[field.name])
            if not isinstance(prop, Schema) or not metas:
                continue
            targets = [s for s in (prop.one_of or [prop]) if isinstance(s, Schema) and s.type != "null"]
            for target, meta in ((t, m) for t in targets for m in metas):
                for ours, theirs in _META_TO_SCHEMA.items():
                    if getattr(meta, ours) is not None:
                        setattr(target, theirs, getattr(meta, ours))


def _metas(annotation: object) -> list[msgspec.Meta]:
    found = [m for m in getattr(annotation, "__metadata__", ()) if isinstance(m, msgspec.Meta)]
    for arg in typing.get_args(annotation):
        found += _metas(arg)
    return found
