"""The quality guarantee by assessment (R13.4, 第九条(二)2-3: 5% 质量保证金 "待年终考核后按有关规定结付").

Decision: the assessment is *entered by the officer* as a score of 0-100 per primary institution and year (the
agreement's 考核办法 weighs things the data does not hold: service quality, satisfaction, the R15 indicators read
with judgment). The grade and the share of the withheld guarantee released follow from the score by the policy
year's ``quality_grades`` table. The score may be corrected until the year is settled; every entry is audited.
An institution without an assessment at year end gets the year's default ``quality_guarantee_release_bp``.
"""

from __future__ import annotations

from member_api.agency import queries
from member_api.agency.periods import policy_year
from member_api.agency.schemas import (
    InstitutionRef,
    QualityAssessmentList,
    QualityAssessmentRequest,
    QualityAssessmentView,
)
from member_api.audit.service import record
from member_api.auth.service import actor_names
from member_api.core.clock import Clock
from member_api.core.errors import DomainError, not_found
from member_api.core.principal import Principal
from member_api.db import write_transaction
from member_api.policy import capitation


async def assessments(year: int, institution_id: int | None = None) -> QualityAssessmentList:
    params = policy_year(year)
    rows = await queries.quality_assessments(year)
    names = await actor_names([r["assessed_by"] for r in rows.values()])
    items = []
    for inst in await queries.institutions():
        if institution_id is not None and inst["id"] != institution_id:
            continue
        r = rows.get(inst["id"])
        items.append(
            QualityAssessmentView(
                year=year,
                institution=InstitutionRef(id=inst["id"], code=inst["code"], name=inst["name"]),
                score=r["score"] if r else None,
                grade=r["grade"] if r else "",
                release_bp=int(r["release_bp"]) if r else params.quality_guarantee_release_bp,
                assessed=r is not None,
                note=r["note"] if r else "",
                assessed_by=r["assessed_by"] if r else None,
                assessed_by_name=names.get(r["assessed_by"]) if r else None,
                assessed_at=r["assessed_at"] if r else None,
            )
        )
    if institution_id is not None and not items:
        raise not_found("机构", "institution")
    return QualityAssessmentList(year=year, settled=year in await queries.settled_years(), items=items)


async def enter(
    clock: Clock, officer: Principal, year: int, institution_id: int, data: QualityAssessmentRequest
) -> QualityAssessmentView:
    """Record (or correct, before the year end) one institution's assessment score; grade and release follow."""
    params = policy_year(year)
    if institution_id not in {i["id"] for i in await queries.institutions()}:
        raise not_found("机构", "institution")
    band = capitation.grade_for(params, data.score)
    now = clock.now()
    async with write_transaction():
        if await queries.year_end_row(year) is not None:
            raise DomainError(
                "year_already_settled",
                f"{year} 年度已年终结算，考核结果不能再改",
                f"{year} is settled; its assessments are final.",
            )
        row = await queries.upsert_quality_assessment(
            {
                "year": year,
                "institution": institution_id,
                "score": data.score,
                "grade": band.grade,
                "release_bp": band.release_bp,
                "note": data.note.strip(),
                "assessed_by": officer.actor,
                "assessed_at": now,
            }
        )
        await record(
            now,
            officer.actor,
            "quality_assessed",
            "quality_assessment",
            row["id"],
            {"year": year, "score": data.score, "grade": band.grade},
        )
    return (await assessments(year, institution_id)).items[0]
