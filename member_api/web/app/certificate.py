"""参保证明: the resident downloads a PDF stating enrollment, payment status, the designated pair and this year's
benefit use, with a signed QR; a counter or an employer verifies it offline (JWKS) or at the public page.

The PDF is rendered from a Jinja2 template by WeasyPrint (HTML to PDF, CJK through the system's fonts); the QR is
drawn by the credential area's own renderer. The verification page needs no login and shows only what the
certificate shows, read back from the signed token (nothing is looked up).
"""

from __future__ import annotations

from typing import Any

import anyio
from litestar import Request, Response, get

from member_api.benefits import service as benefits_service
from member_api.core.clock import local_today
from member_api.core.context import AppContext
from member_api.core.errors import DomainError
from member_api.credential import render
from member_api.credential import service as credential_service
from member_api.members.service import member_view
from member_api.web.app.resident import ROOT, Resident
from member_api.web.common.forms import problem
from member_api.web.common.pages import PAGE_HEADERS, page

QR_PX = 360


async def _facts(ctx: AppContext, member_id: int) -> dict[str, Any]:
    today = local_today(ctx.clock)
    view = await member_view(member_id)
    assert view is not None
    enrolled = next((e for e in view.enrollments if e.year == today.year), None)
    facts: dict[str, Any] = {
        "name": view.name,
        "id": view.id_number_masked,
        "no": view.insurance_no,
        "div": view.division,
        "year": today.year,
        "enrolled": enrolled.enrolled_on.isoformat() if enrolled else "",
        "paid": bool(enrolled and enrolled.paid_up),
        "as_of": today.isoformat(),
    }
    try:
        benefits = await benefits_service.benefits(ctx, member_id, None)
    except DomainError:
        return facts
    facts.update(used=benefits.used_fen, cap=benefits.annual_cap_fen)
    if benefits.designation:
        facts["inst"] = benefits.designation.institution.name
        if benefits.designation.station:
            facts["stn"] = benefits.designation.station.name
    return facts


def verify_url(request: Request[Any, Any, Any], token: str) -> str:
    return f"{str(request.base_url).rstrip('/')}{ROOT}/certificate/verify?t={token}"


@get("/certificate")
async def certificate_page(ctx: AppContext, resident: Resident) -> Any:
    return page("app/certificate.html", resident=resident, tab="home", facts=await _facts(ctx, resident.member_id))


@get("/certificate.pdf")
async def certificate_pdf(request: Request[Any, Any, Any], ctx: AppContext, resident: Resident) -> Response[bytes]:
    facts = await _facts(ctx, resident.member_id)
    token, number = credential_service.sign_certificate(ctx, facts)
    url = verify_url(request, token)
    qr = (await anyio.to_thread.run_sync(render.svg, url, QR_PX)).decode()
    template = request.app.template_engine.get_template("app/certificate_pdf.html")  # type: ignore[union-attr]
    html = template.render(facts=facts, number=number, qr_svg=qr, url=url, issued=ctx.clock.now())
    pdf = await anyio.to_thread.run_sync(_pdf, html)
    headers = {**PAGE_HEADERS, "Content-Disposition": f'inline; filename="certificate-{facts["year"]}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


def _pdf(html: str) -> bytes:
    from weasyprint import HTML  # imported when first used: it loads pango and fonts

    return bytes(HTML(string=html).write_pdf())


@get("/certificate/verify")
async def verify_page(ctx: AppContext, t: str = "") -> Any:
    """Public: anyone who scanned a certificate's QR sees whether it is genuine and exactly what it states."""
    facts, refused = None, None
    try:
        facts = credential_service.read_certificate(ctx, t[:4096]) if t else None
        if facts is None:
            raise DomainError("certificate_missing", "请扫描参保证明上的二维码", "Scan the certificate's QR code.")
    except DomainError as err:
        refused = problem(err)
    return page("app/certificate_verify.html", status=200 if facts else 422, facts=facts, refused=refused)
