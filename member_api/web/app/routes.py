"""The /app router: every resident page, on the common session, CSRF, error pages and headers."""

from __future__ import annotations

from pathlib import Path

from litestar import Router
from litestar.di import Provide
from litestar.static_files import create_static_files_router

from member_api.web.app import (
    certificate,
    claims,
    clinics,
    credential,
    disputes,
    family,
    history,
    home,
    login,
    messages,
)
from member_api.web.app.resident import ROOT, account_principal, bound_resident, household
from member_api.web.common.pages import register_static
from member_api.web.common.router import area_router

HERE = Path(__file__).parent
STATIC = f"{ROOT}/static"
TEMPLATES = HERE / "templates"


def router() -> Router:
    register_static(STATIC, HERE / "static")
    handlers = [
        login.login_page,
        login.send_code,
        login.login,
        login.logout,
        login.bind_page,
        login.bind,
        login.new_binding_code,
        home.home,
        home.switch_member,
        home.elder_mode,
        home.family,
        credential.credential_page,
        credential.credential_code,
        credential.credential_events,
        clinics.clinics,
        clinics.clinic,
        clinics.choose,
        clinics.change_form,
        clinics.change_submit,
        clinics.withdraw,
        history.history,
        history.history_more,
        history.history_detail,
        history.history_chart,
        disputes.dispute_form,
        disputes.file_dispute,
        family.request_grant,
        certificate.certificate_page,
        certificate.certificate_pdf,
        certificate.verify_page,
        family.confirm_grant,
        family.revoke_grant,
        claims.claims,
        claims.new_claim,
        claims.create_claim,
        claims.claim_detail,
        claims.add_receipts,
        claims.submit_claim,
        claims.receipt,
        messages.messages,
        messages.open_message,
    ]
    return area_router(
        ROOT,
        "app",
        handlers,
        dependencies={
            "resident": Provide(bound_resident),
            "household": Provide(household),
            "account": Provide(account_principal),
        },
    )


def static_router() -> Router:
    return create_static_files_router(
        path=STATIC, directories=[HERE / "static"], include_in_schema=False, name="app-static"
    )
