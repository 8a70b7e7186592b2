"""The /console router: every staff page, on the common session, CSRF, error pages and headers.

Each page names the role it needs the way the API routes do (``clerk``, ``reviewer``, ``staff``, ``officer``);
here those names resolve to the console's session plus the API's own guard.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Router
from litestar.di import Provide
from litestar.static_files import create_static_files_router

from member_api.web.common.pages import register_static
from member_api.web.common.router import area_router
from member_api.web.console import agency, counter, frontdesk, login, review
from member_api.web.console.staff import ROOT, clerk_of, officer_of, reviewer_of, staff_of

HERE = Path(__file__).parent
STATIC = f"{ROOT}/static"
TEMPLATES = HERE / "templates"


def handlers() -> list[object]:
    found: list[object] = [
        login.login_page,
        login.login,
        login.logout,
        login.home,
        login.ping,
        counter.counter,
        counter.verify,
        counter.quote,
        counter.settle,
        counter.receipt,
        counter.today,
        counter.reverse_form,
        counter.reverse,
        counter.referral_form,
        counter.referral,
        counter.assist_form,
        counter.assist_designation,
        frontdesk.bind_form,
        frontdesk.bind,
        frontdesk.change_form,
        frontdesk.change_file,
        frontdesk.my_report,
        frontdesk.confirm_report,
        frontdesk.submit_report,
        review.claims,
        review.claim_detail,
        review.take_claim,
        review.decide_claim,
        review.receipt_page,
        review.change_requests,
        review.change_request,
        review.decide_change_request,
        review.evidence_page,
        review.disputes,
        review.dispute,
        review.take_dispute,
        review.decide_dispute,
        review.dispute_photo,
        agency.capitation,
        agency.close_month,
        agency.chart,
        agency.month_csv,
        agency.month_xlsx,
        agency.year_end,
        agency.close_year,
        agency.year_csv,
        agency.year_xlsx,
        agency.report_status,
        agency.assessment,
        agency.assessment_csv,
        agency.assessment_xlsx,
        agency.signal_list,
        agency.review_signal,
        agency.fund_page,
        agency.allocate,
        agency.fund_csv,
        agency.fund_xlsx,
        agency.quality_page,
        agency.enter_quality,
        agency.report_detail,
    ]
    return found


def router() -> Router:
    register_static(STATIC, HERE / "static")
    return area_router(
        ROOT,
        "console",
        handlers(),
        dependencies={
            "clerk": Provide(clerk_of),
            "reviewer": Provide(reviewer_of),
            "staff": Provide(staff_of),
            "officer": Provide(officer_of),
        },
    )


def static_router() -> Router:
    return create_static_files_router(
        path=STATIC, directories=[HERE / "static"], include_in_schema=False, name="console-static"
    )
