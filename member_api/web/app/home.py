"""Home (member, eligibility, remaining caps, designated pair, claim window) and whom a guardian acts for."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import Cookie

from member_api.benefits import service as benefits_service
from member_api.core import labels
from member_api.core.clock import local_today
from member_api.core.context import AppContext
from member_api.core.errors import DomainError, not_found
from member_api.facilities import service as facility_service
from member_api.family import service as family_service
from member_api.members import service as members_service
from member_api.policy.claim_window import next_claim_window
from member_api.web.app.resident import ROOT, Resident
from member_api.web.common.forms import form_of, number, problem, text
from member_api.web.common.labels import SCOPE_WORDS
from member_api.web.common.pages import flash, local_path, page, redirect
from member_api.web.common.session import session_of


def claim_windows(ctx: AppContext) -> dict[str, Any]:
    """The newborn claim window open today (if any) and the next one (R9, decided by the policy function)."""
    today = local_today(ctx.clock)
    window = next_claim_window(today)
    is_open = window.start <= today <= window.end
    following = next_claim_window(window.end + timedelta(days=1)) if is_open else window
    return {"today": today, "open": window if is_open else None, "next": following}


@get("/", name="app-home")
async def home(ctx: AppContext, resident: Resident) -> Any:
    benefits, benefits_problem = None, None
    try:
        benefits = await benefits_service.benefits(ctx, resident.member_id, None)
        pair = benefits.designation
    except DomainError as err:
        benefits_problem = problem(err)
        pair = (await facility_service.current(ctx, resident.member_id, None)).designation
    return page(
        "app/home.html",
        resident=resident,
        tab="home",
        benefits=benefits,
        benefits_problem=benefits_problem,
        pair=pair,
        windows=claim_windows(ctx),
        contribution=await members_service.contribution_status(ctx, resident.member_id),
    )


@post("/acting", status_code=200)
async def switch_member(request: Request[Any, Any, Any], household: Resident) -> Any:
    """Switch every page to oneself, a minor in one's guardianship or an adult who authorised one (P1); each page
    then checks the scope it needs, as the API does for ``?member_id=``."""
    form = await form_of(request)
    wanted = number(form, "member_id") or household.caller.member_id
    person = next((p for p in household.people if p.id == wanted), None)
    if person is None:
        raise not_found("参保人", "member")  # as the API answers for anyone not one's to act for
    session_of(request).update(m=None if person.relation == "self" else person.id)
    flash(request, f"已切换为：{person.name_masked}")
    section = local_path(text(form, "next", 300), f"{ROOT}/", ROOT).split("?")[0].split("/")[2:3]
    return redirect(f"{ROOT}/{section[0]}" if section and section[0] else f"{ROOT}/")


@get("/family")
async def family(request: Request[Any, Any, Any], ctx: AppContext, household: Resident) -> Any:
    """Whom the resident may act for, and in which scopes; the relatives' authorisations both ways (request,
    confirm, revoke); reachable whatever the chosen member allows."""
    year = local_today(ctx.clock).year
    grants = await family_service.family(household.caller.member_id)
    session = session_of(request)
    typed = session.get("grant_form") or {}
    if typed:
        session.update(grant_form=None)
    return page(
        "app/family.html",
        resident=household,
        tab="home",
        year=year,
        scope_words=SCOPE_WORDS,
        grant_words=labels.zh(labels.GRANT_STATUSES),
        grants=grants,
        typed=typed,
    )


ELDER_COOKIE = "app_elder"
ELDER_MAX_AGE_S = 400 * 86400  # remembered on this phone across logins (a browser keeps a cookie 400 days at most)


@post("/elder", status_code=200)
async def elder_mode(request: Request[Any, Any, Any]) -> Any:
    """长辈模式 on or off: larger type, high contrast, fewer items per screen, the e-credential one tap from home.
    Kept in its own cookie (not the session), so the choice outlives a logout on this phone."""
    form = await form_of(request)
    on = text(form, "mode", 5) == "on"
    flash(request, "已切换为长辈模式" if on else "已切换为标准模式")
    response = redirect(local_path(text(form, "next", 300), f"{ROOT}/", ROOT))
    response.cookies.append(
        Cookie(
            key=ELDER_COOKIE,
            value="1" if on else "0",
            max_age=ELDER_MAX_AGE_S,
            path=ROOT,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    )
    return response
