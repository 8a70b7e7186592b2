"""create_app(settings): plugins, dependency injection, error handlers, routers."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, get
from litestar.config.app import AppConfig
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Tag
from litestar.plugins.prometheus import PrometheusController
from litestar.routes import HTTPRoute
from litestar.static_files import create_static_files_router
from piccolo.engine.base import Engine

import member_api
from member_api import db, web
from member_api.agency.routes import (
    AgencyAssessmentController,
    AgencyCapitationController,
    AgencyFundController,
    AgencyQualityController,
    AgencyReportsController,
    AgencySignalsController,
)
from member_api.auth.guards import authenticate_first, request_principal
from member_api.auth.routes import AuthController, SmsReceiptsController
from member_api.benefits.routes import BenefitsController
from member_api.catalogue.routes import CatalogueController
from member_api.claims.routes import MeClaimsController, ReviewClaimsController
from member_api.core import replica, tracing
from member_api.core.clock import Clock, SystemClock, local_today
from member_api.core.context import AppContext, provide_ctx
from member_api.core.edge import StrictRequest, check_request_text, secure_headers
from member_api.core.errors import EXCEPTION_HANDLERS, problem_responses
from member_api.core.keys import load_keyring
from member_api.core.observability import ObservabilityMiddleware, configure_logging, metrics_guard
from member_api.core.openapi import (
    close_request_schemas,
    constrain_form_fields,
    declare_problem_responses,
    each_handler,
    refine,
    schema_types,
)
from member_api.core.principal import provide_clerk, provide_officer, provide_reviewer, provide_staff
from member_api.core.push import make_push_sender
from member_api.core.sms import make_sender
from member_api.core.storage import BlobStore
from member_api.core.wechat import WechatClient
from member_api.credential.routes import CredentialController
from member_api.disputes.routes import MeDisputesController, ReviewDisputesController
from member_api.facilities.routes import (
    CounterDesignationController,
    DesignationController,
    FacilitiesController,
    ReviewChangeRequestsController,
)
from member_api.family.callers import provide_subject_member
from member_api.family.routes import CounterFamilyController, MeFamilyController
from member_api.fhir.routes import FhirController
from member_api.fsi.routes import FsiController
from member_api.ledger import service as ledger_service
from member_api.members.callers import provide_member_caller
from member_api.members.routes import CounterBindingsController, MeController, PaymentEventsController
from member_api.notices import delivery
from member_api.notices import service as notices_service
from member_api.notices.routes import NoticesController
from member_api.ops.routes import OpsController
from member_api.policy.holidays import CALENDAR_WARNING_DAYS, years_missing_calendar
from member_api.referrals.routes import CounterReferralsController, MeReferralsController
from member_api.settings import Settings
from member_api.settlement.routes import CounterController, ReconciliationController

API_VERSION = "1.0.0"
DOCS_ASSETS = "/docs-assets"
log = logging.getLogger("member_api.app")


def warn_missing_holiday_calendars(clock: Clock) -> None:
    """R9: a policy year in force, or starting within 60 days, with no holiday calendar gets a warning at start."""
    for params in years_missing_calendar(local_today(clock), CALENDAR_WARNING_DAYS):
        log.warning(
            "holiday_calendar_missing",
            extra={
                "year": params.year,
                "starts": params.valid_from.isoformat(),
                "hint": f"member-api calendar-check {params.year}; claim windows fall back to weekends only",
            },
        )


TAGS = [
    Tag(
        name="agency",
        description="The insurance agency's books and oversight (R12-R16): monthly capitation close and year end, "
        "statements as JSON, CSV and XLSX, facility monthly reports, yearly assessment indicators, abuse signals "
        "and review samples. Agency officers only; a clerk sees and confirms their own institution's report.",
    ),
    Tag(name="ops", description="Liveness, readiness, and the public keys (JWKS) that verify an e-credential offline."),
    Tag(
        name="auth",
        description="Residents log in with an SMS code; staff with a password. Access tokens last "
        "15 minutes; the refresh token rotates on every use and its reuse revokes the whole login.",
    ),
    Tag(
        name="payments",
        description="参保缴费: the agency's payment system reports contributions as they are paid (a system "
        "credential), so a resident who has just paid is covered without waiting for the next registry import.",
    ),
    Tag(
        name="me",
        description="The logged-in resident, the binding of their insurance record (ID number and "
        "name, GB 11643 checked) and their dependants.",
    ),
    Tag(
        name="facilities",
        description="The catalogue of designated facilities: search by division, kind, tier, text or distance.",
    ),
    Tag(
        name="designation",
        description="R2: the primary institution and village station a resident chose for "
        "the year; later changes go through a reviewed change request.",
    ),
    Tag(
        name="credential",
        description="R8: the short-lived signed e-credential shown at the counter (token, PNG "
        "or SVG QR); never cached.",
    ),
    Tag(
        name="counter",
        description="Counter clerks of one facility: verify a member, settle a visit (R3-R8), "
        "reverse a settlement, record a referral (R10). Money-moving writes take an Idempotency-Key.",
    ),
    Tag(
        name="benefits",
        description="R4: the annual cap and the out-of-city sub-cap, used and remaining, and "
        "every fund movement of the member.",
    ),
    Tag(
        name="claims",
        description="R9/R10: newborn and referral reimbursement claims with receipts, and the "
        "referrals approved for the member.",
    ),
    Tag(
        name="review",
        description="Agency reviewers (and clerks for their facility's members): reimbursement "
        "claims and designation change requests.",
    ),
    Tag(
        name="family",
        description="P1: relatives a member authorised to act for them, scope by scope (view, credential, claims, "
        "designation), confirmed by the member or at the counter; revocable by either side.",
    ),
    Tag(
        name="notices",
        description="Messages about every fund movement and dispute of the member (and of those they act for).",
    ),
    Tag(
        name="disputes",
        description="P2: a member disputes a counter settlement of theirs within a window; a confirmed dispute "
        "reverses it through the ledger.",
    ),
    Tag(
        name="catalogue",
        description="R18: the medical insurance catalogue (drugs, consumables, services) that values every bill line: "
        "category, up-front self-pay share and price ceiling, by the version valid on the date of care.",
    ),
]
# Named schemas for the enums the routes and bodies spell as literals (by value set); others get a name from
# where they appear (component and property, or operation and parameter).
ENUM_NAMES = {
    frozenset({"newborn", "referral"}): "ClaimKind",
    frozenset({"draft", "submitted", "in_review", "approved", "partly_approved", "rejected"}): "ClaimStatus",
    frozenset({"submitted", "in_review", "approved", "partly_approved", "rejected"}): "SubmittedClaimStatus",
    frozenset({"counter", "reversal", "claim_payout"}): "SettlementKind",
    frozenset({"approve", "reject"}): "Decision",
    frozenset({"relocation", "facility_closed", "other"}): "ChangeReason",
    frozenset({"not_me", "wrong_amount", "not_received", "other"}): "DisputeReason",
    frozenset({"open", "in_review", "confirmed", "rejected"}): "DisputeStatus",
    frozenset({"confirm", "reject"}): "DisputeOutcome",
    frozenset({"view", "credential", "claims", "designation"}): "FamilyScope",
    frozenset({"pending", "active", "revoked"}): "FamilyGrantStatus",
}


def route_handlers() -> list[object]:
    controllers = [
        OpsController,
        AuthController,
        SmsReceiptsController,
        MeController,
        FacilitiesController,
        DesignationController,
        ReviewChangeRequestsController,
        CredentialController,
        CounterController,
        ReconciliationController,
        BenefitsController,
        MeClaimsController,
        MeReferralsController,
        MeFamilyController,
        CounterFamilyController,
        NoticesController,
        MeDisputesController,
        ReviewDisputesController,
        ReviewClaimsController,
        CounterReferralsController,
        CounterDesignationController,
        AgencyCapitationController,
        AgencyReportsController,
        AgencyAssessmentController,
        AgencySignalsController,
        AgencyFundController,
        AgencyQualityController,
        CounterBindingsController,
        PaymentEventsController,
        CatalogueController,
    ]
    declare_problem_responses(each_handler(controllers), problem_responses)
    # FHIR answers OperationOutcome, the facility interface its envelope: not problem+json (fhir.md, integration.md)
    return [*controllers, FhirController, FsiController]


REPLICA_PATHS = ("/v1/agency/",)
REPLICA_OPERATIONS = frozenset({"fhirSearchCoverage", "fhirGetCoverage", "fhirGetOrganization", "fhirGetLocation"})
"""Reads that may lag behind the primary by ``read_max_lag_s``: agency analytics and exports, and FHIR reads that
carry no money (a member's history pages before today choose for themselves, in ``ledger.member_page``)."""


def mark_replica_reads(app: Litestar) -> None:
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if "GET" in handler.http_methods and (
                route.path.startswith(REPLICA_PATHS) or handler.operation_id in REPLICA_OPERATIONS
            ):
                handler.opt["reads"] = "replica"


async def trust_edge(request: Request) -> None:
    """``before_request``: the bearer token before any input, so a request without valid credentials is 401 whatever
    its query or body hold (a client fixes its login first, and an anonymous upload is never parsed); then hostile
    text in the query, data headers and form fields."""
    await authenticate_first(request)
    await check_request_text(request)
    if request.route_handler.opt.get("reads") == "replica":
        replica.prefer()


class MetricsController(PrometheusController):
    """Prometheus text format for a bearer of ``MEMBER_API_METRICS_TOKEN``; kept out of the OpenAPI document."""

    include_in_schema = False
    guards = [metrics_guard]


def cors_config(settings: Settings) -> CORSConfig | None:
    """Closed unless ``MEMBER_API_CORS_ORIGINS`` lists the mini-program's H5 origins (no wildcard, no cookies)."""
    origins = settings.cors_origin_list
    if not origins:
        return None
    return CORSConfig(
        allow_origins=origins,
        allow_methods=["GET", "POST", "PUT", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
        expose_headers=["X-Request-ID", "Idempotent-Replayed", "Retry-After"],
        allow_credentials=False,
        max_age=600,
    )


@get("/openapi.json", include_in_schema=False, media_type="application/vnd.oai.openapi+json", sync_to_thread=False)
def openapi_document(request: Request) -> dict[str, object]:
    """The document also at the root, where generators look first (``/docs/openapi.json`` stays)."""
    return request.app.openapi_schema.to_schema()


def docs_assets_dir(settings: Settings) -> Path:
    """Swagger UI (``swagger-ui-dist`` from npm, installed by scripts/setup.sh into node_modules/)."""
    if settings.docs_assets_dir:
        return Path(settings.docs_assets_dir)
    return Path(__file__).resolve().parent.parent / "node_modules" / "swagger-ui-dist"


class LinkedSwaggerPlugin(SwaggerRenderPlugin):
    """Swagger UI that fetches the document (``/docs/openapi.json``, cached by the browser) instead of inlining all
    of it into the page: the page is a few hundred bytes and renders at once (issue 33 item 9)."""

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(str(openapi_schema["info"]["title"]))
        url = json.dumps(self.get_openapi_json_route(request))
        return f"""<!DOCTYPE html><html lang="en"><head><title>{title}</title>{self.favicon}<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><link href="{self.css_url}" rel="stylesheet">
<script src="{self.js_url}"></script><script src="{self.standalone_preset_js_url}"></script>{self.style}</head>
<body><div id="swagger-container"></div><script>
SwaggerUIBundle({{url: {url}, dom_id: "#swagger-container", deepLinking: true, showExtensions: true,
  showCommonExtensions: true, presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]}});
</script></body></html>""".encode()


INDEX = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>member-api</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>
<main><h1>韶关医保 · 门诊统筹 (member-api)</h1><ul>
<li><a href="/app/">/app/</a> 居民 H5（resident app）</li>
<li><a href="/console/">/console/</a> 工作台（staff console）</li>
<li><a href="/docs">/docs</a> API 文档（OpenAPI 3.1: <a href="/openapi.json">/openapi.json</a>）</li>
<li><a href="/fhir/R4/metadata">/fhir/R4</a> FHIR R4</li>
</ul></main></body></html>"""


@get("/", include_in_schema=False, media_type="text/html", sync_to_thread=False)
def index() -> str:
    """``GET /``: where a newcomer (or a load balancer's check) lands: the app, the console and the docs."""
    return INDEX


def openapi_config() -> OpenAPIConfig:
    assets = DOCS_ASSETS
    return OpenAPIConfig(
        title="member-api",
        version=API_VERSION,
        description="Shaoguan residents' general outpatient pooling (普通门诊统筹): member self-service, "
        "counter settlement and agency review. Money is integer fen. Errors are application/problem+json.",
        path="/docs",
        render_plugins=[
            LinkedSwaggerPlugin(
                path="/",
                js_url=f"{assets}/swagger-ui-bundle.js",
                css_url=f"{assets}/swagger-ui.css",
                standalone_preset_js_url=f"{assets}/swagger-ui-standalone-preset.js",
                favicon=f"<link rel='icon' type='image/png' href='{assets}/favicon-32x32.png'>",
            )
        ],
        components=Components(
            security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")}
        ),
        tags=TAGS,
        use_handler_docstrings=False,
    )


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    engine: Engine | None = None,
    span_exporter: object | None = None,
) -> Litestar:
    """The app. An ``engine`` passed in is the caller's to open and close (tests share one per database).

    ``span_exporter``: traces go there instead of OTLP (tests); tracing is otherwise on only with an OTLP endpoint.
    """
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    otel = tracing.plugins(settings.otel_endpoint, settings.otel_service_name, exporter=span_exporter)
    owns_engine = engine is None
    engine = engine or db.make_engine(settings.resolved_database_url, settings.db_statement_cache_size)
    data_dir = Path(settings.data_dir)
    ctx = AppContext(
        settings=settings,
        keyring=load_keyring(settings.resolved_key_dir),
        clock=clock or SystemClock(),
        sms=tracing.traced(make_sender(settings.resolved_sms_backend), "send", "sms.send"),
        blobs=BlobStore(data_dir / "blobs"),
        push=tracing.traced(make_push_sender(settings.resolved_push_backend), "send", "push.send"),
        wechat=WechatClient(settings.wechat_api_base, settings.wechat_app_id, settings.wechat_app_secret),
    )
    if settings.resolved_push_backend == "wechat":
        ctx.push = notices_service.wechat_push(ctx)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        db.activate(engine)
        if owns_engine:
            await db.prepare(engine)
        await ledger_service.start_credential_events(settings.resolved_listen_database_url)
        await db.start_replica(settings.read_database_url, settings.read_max_lag_s, settings.db_statement_cache_size)
        pusher = asyncio.create_task(delivery.run(ctx))
        warn_missing_holiday_calendars(ctx.clock)
        try:
            yield
        finally:
            pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pusher
            await ledger_service.stop_credential_events()
            await db.stop_replica()
            tracing.flush()
            if owns_engine:
                await db.close(engine)

    assets_dir = docs_assets_dir(settings)
    if not (assets_dir / "swagger-ui-bundle.js").is_file():
        log.warning("docs_assets_missing", extra={"dir": str(assets_dir), "fix": "bash scripts/setup.sh"})
    docs_assets = create_static_files_router(path=DOCS_ASSETS, directories=[assets_dir], include_in_schema=False)
    db.activate(engine)
    app = Litestar(
        route_handlers=[
            *route_handlers(),
            MetricsController,
            docs_assets,
            openapi_document,
            index,
            *web.route_handlers(),
        ],
        template_config=web.template_config(),
        dependencies={
            "ctx": Provide(provide_ctx, sync_to_thread=False),
            "principal": Provide(request_principal),
            "caller": Provide(provide_member_caller),
            "subject_member_id": Provide(provide_subject_member),
            "clerk": Provide(provide_clerk),
            "reviewer": Provide(provide_reviewer),
            "staff": Provide(provide_staff),
            "officer": Provide(provide_officer),
        },
        exception_handlers=web.exception_handlers(EXCEPTION_HANDLERS),  # type: ignore[arg-type]
        middleware=[ObservabilityMiddleware],
        # The trust edge: credentials first (auth/guards.py), then strict JSON bodies, control characters refused
        # in every query, data header and form field (core/edge.py; a layer that sets its own before_request must
        # call trust_edge too), and nosniff / no-store on every response.
        request_class=StrictRequest,
        before_request=trust_edge,
        before_send=[secure_headers],
        cors_config=cors_config(settings),
        openapi_config=openapi_config(),
        lifespan=[lifespan],
        state=State({"ctx": ctx}),
        request_max_body_size=settings.max_body_bytes,
        on_app_init=[_no_debug],
        plugins=otel,
        logging_config=None,  # our JSON formatter (configure_logging) stays in charge
        debug=False,
    )
    mark_replica_reads(app)
    request_types = schema_types(member_api)
    close_request_schemas(app.openapi_schema, request_types)
    constrain_form_fields(app.openapi_schema, request_types)
    handlers = {
        (route.path_format, method.lower()): handler
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        for method in handler.http_methods
    }
    refine(app.openapi_schema, handlers, ENUM_NAMES)
    return app


def _no_debug(config: AppConfig) -> AppConfig:
    config.debug = False
    return config
