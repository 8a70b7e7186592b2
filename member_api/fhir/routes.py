"""/fhir/R4: read-only FHIR R4 (application/fhir+json). Refusals are OperationOutcome resources.

Kept out of the OpenAPI document on purpose: the contract of these routes is the FHIR specification and this
server's CapabilityStatement (``GET /fhir/R4/metadata``), which FHIR clients read; see docs/fhir.md.
"""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response, get
from litestar.params import Parameter

from member_api.core.clock import LOCAL_TZ, local_today
from member_api.core.context import AppContext
from member_api.core.errors import http_exception_handler
from member_api.core.principal import Principal
from member_api.fhir import mapping, search, service

PREFIX = "/fhir/R4"
NO_STORE = {"Cache-Control": "no-store"}
_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$")
try:
    SOFTWARE_VERSION = version("member-api")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    SOFTWARE_VERSION = "0"

Count = Annotated[int, Parameter(query="_count", ge=1, le=100)]
LastUpdated = Annotated[list[str] | None, Parameter(query="_lastUpdated")]
PageCursor = Annotated[str | None, Parameter(query="_cursor", max_length=64)]
ReferenceParam = Annotated[str | None, Parameter(max_length=200)]


class Unsupported(Exception):
    """A resource type or interaction the CapabilityStatement does not list."""


def fhir_response(resource: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        mapping.encode(resource),
        status_code=status,
        media_type=mapping.MEDIA_TYPE,
        headers={**NO_STORE, **(headers or {})},
    )


def outcome_handler(request: Request, exc: Exception) -> Response:
    """Every refusal under /fhir/R4 as an OperationOutcome, with the JSON API's code and texts."""
    if isinstance(exc, search.SearchError):
        outcome = mapping.operation_outcome(
            400,
            "unsupported_search" if exc.not_supported else "invalid_search",
            f"查询参数 {exc.parameter} 无效",
            exc.message,
            [(exc.parameter, exc.message)],
            issue_type="not-supported" if exc.not_supported else "invalid",
        )
        return fhir_response(outcome, 400)
    if isinstance(exc, Unsupported):
        outcome = mapping.operation_outcome(
            404,
            "unsupported_resource",
            "不支持该资源类型或操作，见 /fhir/R4/metadata",
            "This server does not serve that resource type or interaction; see /fhir/R4/metadata.",
            issue_type="not-supported",
        )
        return fhir_response(outcome, 404)
    problem = http_exception_handler(request, exc)  # the JSON API's decision: status, code, zh/en, headers
    body = msgspec.json.decode(problem.content)
    status = 400 if problem.status_code == 422 else problem.status_code  # FHIR: a bad search is 400
    fields = [(e["field"], e["message"]) for e in body.get("errors") or []]
    outcome = mapping.operation_outcome(status, body["code"], body["message_zh"], body["message_en"], fields)
    headers = {k: v for k, v in (problem.headers or {}).items() if k.lower() != "content-type"}
    return fhir_response(outcome, status, headers)


def _origin(request: Request) -> str:
    """Scheme and host as the client sees them: a TLS-terminating proxy's ``X-Forwarded-Proto``/``-Host`` win.

    Trusting them is harmless here: they only shape the links of the caller's own response.
    """
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    host = request.headers.get("x-forwarded-host", "").split(",")[0].strip()
    scheme = proto if proto in ("http", "https") else request.url.scheme
    return f"{scheme}://{host if _HOST.match(host) else request.url.netloc}"


def _base(request: Request) -> str:
    return _origin(request) + PREFIX


def _url(request: Request, **replace: str | None) -> str:
    """This request's URL with some query parameters replaced (None drops one)."""
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in replace]
    items += [(k, v) for k, v in replace.items() if v is not None]
    query = urlencode(items)
    return _origin(request) + request.url.path + (f"?{query}" if query else "")


def _searchset(request: Request, resources: list[dict[str, Any]], ctx: AppContext, next_url: str | None = None):
    now = ctx.clock.now().astimezone(LOCAL_TZ)
    return fhir_response(mapping.bundle(_base(request), _url(request), resources, now, next_url))


def _required(name: str, value: str | None) -> str:
    if not value:
        raise search.SearchError(name, f"the search parameter {name} is required")
    return value


class FhirController(Controller):
    path = PREFIX
    tags = ["fhir"]
    include_in_schema = False
    exception_handlers = {Exception: outcome_handler}

    @get("/metadata", operation_id="fhirGetCapabilityStatement", summary="FHIR CapabilityStatement")
    async def metadata(self, request: Request, ctx: AppContext) -> Response:
        statement = mapping.capability_statement(_base(request), SOFTWARE_VERSION, local_today(ctx.clock))
        return fhir_response(statement, headers={"Cache-Control": "public, max-age=3600"})

    @get("/Patient/{resource_id:str}", operation_id="fhirGetPatient", summary="A member (masked identifiers)")
    async def patient(self, resource_id: str, ctx: AppContext, principal: Principal) -> Response:
        return fhir_response(await service.patient(ctx, principal, service.parse_id(resource_id, "Patient")))

    @get("/Coverage", operation_id="fhirSearchCoverage", summary="A member's insurance years")
    async def coverages(
        self, request: Request, ctx: AppContext, principal: Principal, beneficiary: ReferenceParam = None
    ) -> Response:
        member_id = search.reference_id("beneficiary", _required("beneficiary", beneficiary), "Patient")
        return _searchset(request, await service.coverages(ctx, principal, member_id), ctx)

    @get("/Coverage/{resource_id:str}", operation_id="fhirGetCoverage", summary="One insurance year")
    async def coverage(self, resource_id: str, ctx: AppContext, principal: Principal) -> Response:
        return fhir_response(await service.coverage(ctx, principal, resource_id))

    @get(
        "/CoverageEligibilityResponse",
        operation_id="fhirSearchCoverageEligibilityResponse",
        summary="This year's standing: in force, annual cap and out-of-city sub-cap allowed and used",
    )
    async def eligibility_search(
        self, request: Request, ctx: AppContext, principal: Principal, patient: ReferenceParam = None
    ) -> Response:
        member_id = search.reference_id("patient", _required("patient", patient), "Patient")
        found = await service.eligibility(ctx, principal, member_id, None)
        return _searchset(request, [found] if found else [], ctx)

    @get(
        "/CoverageEligibilityResponse/{resource_id:str}",
        operation_id="fhirGetCoverageEligibilityResponse",
        summary="A year's standing ({member}-{year})",
    )
    async def eligibility(self, resource_id: str, ctx: AppContext, principal: Principal) -> Response:
        return fhir_response(await service.eligibility_by_id(ctx, principal, resource_id))

    @get(
        "/ExplanationOfBenefit",
        operation_id="fhirSearchExplanationOfBenefit",
        summary="Settlements, reversals and claim payouts, newest first (next links)",
    )
    async def explanations(
        self,
        request: Request,
        ctx: AppContext,
        principal: Principal,
        patient: ReferenceParam = None,
        last_updated: LastUpdated = None,
        count: Count = 20,
        cursor: PageCursor = None,
    ) -> Response:
        member_id = search.reference_id("patient", _required("patient", patient), "Patient")
        page, below = await service.explanation_page(ctx, principal, member_id, last_updated or [], count, cursor)
        next_url = _url(request, _cursor=search.encode_cursor(below)) if below else None
        return _searchset(request, page, ctx, next_url)

    @get(
        "/ExplanationOfBenefit/{resource_id:str}",
        operation_id="fhirGetExplanationOfBenefit",
        summary="One fund movement with its adjudication",
    )
    async def explanation(self, resource_id: str, ctx: AppContext, principal: Principal) -> Response:
        movement_id = service.parse_id(resource_id, "ExplanationOfBenefit")
        return fhir_response(await service.explanation(ctx, principal, movement_id))

    @get("/Organization/{resource_id:str}", operation_id="fhirGetOrganization", summary="A facility or the agency")
    async def organization(self, resource_id: str, principal: Principal) -> Response:
        return fhir_response(await service.facility(principal, resource_id, "Organization"))

    @get("/Location/{resource_id:str}", operation_id="fhirGetLocation", summary="A facility as a place")
    async def location(self, resource_id: str, principal: Principal) -> Response:
        return fhir_response(await service.facility(principal, resource_id, "Location"))

    @get(
        ["/Patient", "/Organization", "/Location"],
        operation_id="fhirSearchUnsupported",
        summary="Searches this server does not do (reads only)",
    )
    async def unsupported_search(self) -> Response:
        raise Unsupported("search")

    @get("/{rest:path}", operation_id="fhirUnsupported", summary="Any other resource type or interaction")
    async def unsupported(self, rest: str) -> Response:
        raise Unsupported(rest)
