"""create_app(settings): plugins, dependency injection, error handlers, routers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import swagger_ui_bundle
from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.static_files import create_static_files_router
from piccolo.engine.base import Engine

from member_api import db, web
from member_api.auth.guards import provide_principal
from member_api.auth.routes import AuthController
from member_api.core.clock import Clock, SystemClock, local_today
from member_api.core.context import AppContext, provide_ctx
from member_api.core.errors import EXCEPTION_HANDLERS, problem_responses
from member_api.core.keys import load_keyring
from member_api.core.observability import RequestIdMiddleware, configure_logging
from member_api.core.principal import provide_clerk, provide_officer, provide_reviewer, provide_staff
from member_api.core.push import make_push_sender
from member_api.core.sms import make_sender
from member_api.core.storage import BlobStore
from member_api.family.callers import provide_subject_member
from member_api.members.callers import provide_member_caller
from member_api.members.routes import MeController
from member_api.ops.routes import OpsController
from member_api.settings import Settings

API_VERSION = "1.0.0"
DOCS_ASSETS = "/docs-assets"
log = logging.getLogger("member_api.app")


def warn_missing_holiday_calendars(clock: Clock) -> None:
    """R9: a policy year in force, or starting within 60 days, with no holiday calendar gets a warning at start."""
    from member_api.policy.holidays import CALENDAR_WARNING_DAYS, years_missing_calendar

    for params in years_missing_calendar(local_today(clock), CALENDAR_WARNING_DAYS):
        log.warning(
            "holiday_calendar_missing",
            extra={
                "year": params.year,
                "starts": params.valid_from.isoformat(),
                "hint": f"member-api calendar-check {params.year}; claim windows fall back to weekends only",
            },
        )


def route_handlers() -> list[object]:
    from member_api.agency.routes import (
        AgencyAssessmentController,
        AgencyCapitationController,
        AgencyReportsController,
        AgencySignalsController,
    )
    from member_api.benefits.routes import BenefitsController
    from member_api.claims.routes import MeClaimsController, ReviewClaimsController
    from member_api.credential.routes import CredentialController
    from member_api.disputes.routes import MeDisputesController, ReviewDisputesController
    from member_api.facilities.routes import (
        CounterDesignationController,
        DesignationController,
        FacilitiesController,
        ReviewChangeRequestsController,
    )
    from member_api.family.routes import CounterFamilyController, MeFamilyController
    from member_api.fhir.routes import FhirController
    from member_api.notices.routes import NoticesController
    from member_api.referrals.routes import CounterReferralsController, MeReferralsController
    from member_api.settlement.routes import CounterController

    controllers = [
        OpsController,
        AuthController,
        MeController,
        FacilitiesController,
        DesignationController,
        ReviewChangeRequestsController,
        CredentialController,
        CounterController,
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
    ]
    problems = problem_responses()
    for controller in controllers:
        for value in vars(controller).values():
            if isinstance(value, HTTPRouteHandler):
                value.responses = {**problems, **(value.responses or {})}
    return [*controllers, FhirController]  # FHIR answers OperationOutcome, not problem+json (docs/fhir.md)


class MetricsController(PrometheusController):
    """Prometheus text format; kept out of the JSON API's OpenAPI document."""

    include_in_schema = False


def openapi_config() -> OpenAPIConfig:
    assets = DOCS_ASSETS
    return OpenAPIConfig(
        title="member-api",
        version=API_VERSION,
        description="Shaoguan residents' general outpatient pooling (普通门诊统筹): member self-service, "
        "counter settlement and agency review. Money is integer fen. Errors are application/problem+json.",
        path="/docs",
        render_plugins=[
            SwaggerRenderPlugin(
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
        use_handler_docstrings=False,
    )


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, engine: Engine | None = None
) -> Litestar:
    """The app. An ``engine`` passed in is the caller's to open and close (tests share one per database)."""
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    owns_engine = engine is None
    engine = engine or db.make_engine(settings.resolved_database_url)
    data_dir = Path(settings.data_dir)
    ctx = AppContext(
        settings=settings,
        keyring=load_keyring(settings.resolved_key_dir),
        clock=clock or SystemClock(),
        sms=make_sender(settings.resolved_sms_backend),
        blobs=BlobStore(data_dir / "blobs"),
        push=make_push_sender(settings.resolved_push_backend),
    )

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        from member_api.notices import delivery

        db.activate(engine)
        if owns_engine:
            await db.prepare(engine)
        pusher = asyncio.create_task(delivery.run(ctx))
        warn_missing_holiday_calendars(ctx.clock)
        try:
            yield
        finally:
            pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pusher
            if owns_engine:
                await db.close(engine)

    prometheus = PrometheusConfig(
        app_name="member_api", prefix="member_api", group_path=True, exclude_unhandled_paths=True, exclude=["/metrics"]
    )
    docs_assets = create_static_files_router(
        path=DOCS_ASSETS, directories=[swagger_ui_bundle.swagger_ui_path], include_in_schema=False
    )
    db.activate(engine)
    app = Litestar(
        route_handlers=[*route_handlers(), MetricsController, docs_assets, *web.route_handlers()],
        template_config=web.template_config(),
        dependencies={
            "ctx": Provide(provide_ctx, sync_to_thread=False),
            "principal": Provide(provide_principal),
            "caller": Provide(provide_member_caller),
            "subject_member_id": Provide(provide_subject_member),
            "clerk": Provide(provide_clerk),
            "reviewer": Provide(provide_reviewer),
            "staff": Provide(provide_staff),
            "officer": Provide(provide_officer),
        },
        exception_handlers=web.exception_handlers(EXCEPTION_HANDLERS),  # type: ignore[arg-type]
        middleware=[RequestIdMiddleware, prometheus.middleware],
        openapi_config=openapi_config(),
        lifespan=[lifespan],
        state=State({"ctx": ctx}),
        request_max_body_size=settings.max_body_bytes,
        on_app_init=[_no_debug],
        logging_config=None,  # our JSON formatter (configure_logging) stays in charge
        debug=False,
    )
    _close_request_schemas(app)
    return app


def _close_request_schemas(app: Litestar) -> None:
    """Say ``additionalProperties: false`` for request bodies that refuse unknown fields, as they do."""
    from member_api import openapi_export

    schemas = app.openapi_schema.components.schemas or {}
    for struct in openapi_export.request_structs():
        config = getattr(struct, "__struct_config__", None)
        schema = schemas.get(struct.__name__)
        if config is not None and config.forbid_unknown_fields and schema is not None:
            schema.additional_properties = False


def _no_debug(config: AppConfig) -> AppConfig:
    config.debug = False
    return config
