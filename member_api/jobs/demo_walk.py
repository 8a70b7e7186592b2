"""The README's walk, seeded: something to show on every screen on any day of the month (``seed-demo``).

On top of the demo catalogue, members and staff (``jobs.demo``), through the areas' own services and rules:

- 张丽华 (SG0000000004) has this year's pair at 浈江区东河街道社区卫生服务中心, and a newborn claim for her ward 张小宝
  is drafted (one visit between birth and enrollment, R5): she only adds the receipt photo and submits (R9's window
  permitting);
- 陈志强 (SG0000000001) was referred to 粤北人民医院 (R10) and submitted a claim for that visit with a receipt:
  a reviewer opens it from 报销审核;
- 周国平 (SG0000000007, no phone on file) was signed up at 武江区西河镇卫生院 by its clerk and a change request to
  武江区新华街道社区卫生服务中心 with scanned evidence waits for review.

Safe to re-run: each step is skipped when what it makes is already there.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from member_api.auth.tables import Staff
from member_api.claims import service as claims_service
from member_api.claims.schemas import ClaimCreate, ClaimItemIn
from member_api.core.clock import Clock, SystemClock, local_today
from member_api.core.context import AppContext
from member_api.core.keys import load_keyring
from member_api.core.principal import Principal
from member_api.core.sms import make_sender
from member_api.core.storage import BlobStore
from member_api.core.uploads import CheckedFile
from member_api.facilities import service as facility_service
from member_api.facilities.tables import Facility
from member_api.members.tables import Member
from member_api.referrals import service as referrals_service
from member_api.referrals.schemas import ReferralCreate
from member_api.settings import Settings


def _context(settings: Settings, clock: Clock) -> AppContext:
    return AppContext(
        settings=settings,
        keyring=load_keyring(settings.resolved_key_dir),
        clock=clock,
        sms=make_sender("none"),
        blobs=BlobStore(Path(settings.data_dir) / "blobs"),
    )


def _paper(title: str, lines: list[str]) -> CheckedFile:
    """A scanned-looking receipt or letter (PNG), so the viewers have something real to show."""
    image = Image.new("RGB", (620, 820), (252, 252, 248))
    draw = ImageDraw.Draw(image)
    draw.rectangle((18, 18, 602, 802), outline=(40, 40, 40), width=3)
    draw.text((40, 40), title, fill=(0, 0, 0))
    for n, line in enumerate(lines):
        draw.text((40, 100 + 40 * n), line, fill=(30, 30, 30))
        draw.line((40, 125 + 40 * n, 580, 125 + 40 * n), fill=(170, 170, 170), width=1)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return CheckedFile(data=out.getvalue(), content_type="image/png", filename=f"{title.lower()}.png")


async def _ids(model: Any, column: Any, values: list[str]) -> dict[str, int]:
    rows = await model.select(model.id, column).where(column.is_in(values))
    return {r[column._meta.name]: r["id"] for r in rows}


async def _clerk(username: str) -> Principal:
    row = await Staff.select(Staff.id, Staff.facility).where(Staff.username == username).first()
    assert row is not None, username
    return Principal(role="clerk", staff_id=row["id"], facility_id=row["facility"])


async def seed_walk(settings: Settings, manifest: dict[str, Any], clock: Clock | None = None) -> dict[str, Any]:
    """Seed the walk; returns what was made (ids), for the manifest."""
    clock = clock or SystemClock()
    ctx = _context(settings, clock)
    today = local_today(clock)
    members = await _ids(Member, Member.insurance_no, [m["insurance_no"] for m in manifest["members"]])
    by_no = {m["insurance_no"]: m for m in manifest["members"]}
    codes = await _ids(
        Facility,
        Facility.code,
        [
            "H44020400001",
            "H44020400002",
            "H44020300001",
            "H44020300002",
            "H44020300005",
            "H44020300006",
            "H44020300800",
        ],
    )
    made: dict[str, Any] = {}

    # 张丽华: this year's pair, then the newborn draft for 张小宝 (R2, R5).
    dh_clerk = await _clerk("clerk_zj_dh")
    guardian, ward = members["SG0000000004"], members["SG0000000005"]
    if (await facility_service.current(ctx, guardian, None)).designation is None:
        await facility_service.choose(ctx, dh_clerk, guardian, codes["H44020400001"], codes["H44020400002"])
    if not await claims_service.list_for_member(ward):
        birth = (await Member.select(Member.birth_date).where(Member.id == ward).first())["birth_date"]
        care = min(birth + timedelta(days=5), today)
        draft = await claims_service.create(
            ctx,
            guardian,
            dh_clerk,
            ward,
            ClaimCreate(
                kind="newborn",
                items=[
                    ClaimItemIn(
                        care_date=care,
                        facility_id=codes["H44020400001"],
                        general_fee_fen=1000,
                        compliant_fen=8050,
                        non_compliant_fen=0,
                    )
                ],
            ),
        )
        made["newborn_draft_claim"] = draft.id

    # 陈志强: referred to the tertiary hospital, a claim for the visit submitted with its receipt (R10).
    chen = members["SG0000000001"]
    if not await claims_service.list_for_member(chen):
        referral = await referrals_service.create_referral(
            ctx,
            dh_clerk,
            ReferralCreate(
                target_facility_id=codes["H44020300800"],
                valid_from=today,
                valid_to=today + timedelta(days=30),
                id_number=by_no["SG0000000001"]["id_number"],
            ),
        )
        claim = await claims_service.create(
            ctx,
            chen,
            dh_clerk,
            chen,
            ClaimCreate(
                kind="referral",
                referral_id=referral.id,
                items=[ClaimItemIn(care_date=today, facility_id=codes["H44020300800"], compliant_fen=20000)],
            ),
        )
        receipt = _paper("RECEIPT", ["Yuebei People's Hospital", f"{today.isoformat()}", "compliant 200.00"])
        await claims_service.add_receipts(ctx, dh_clerk, chen, claim.id, claim.items[0].id, [receipt])
        made["submitted_claim"] = (await claims_service.submit(ctx, dh_clerk, chen, claim.id)).id

    # 周国平 (no phone): signed up at the counter of 西河镇卫生院, then a change request filed there (R2).
    zhou = members["SG0000000007"]
    xh_clerk = await _clerk("clerk_wj_xh")
    if (await facility_service.current(ctx, zhou, None)).designation is None:
        await facility_service.choose(ctx, xh_clerk, zhou, codes["H44020300001"], codes["H44020300002"])
    if not await facility_service.member_requests(zhou):
        evidence = _paper("TENANCY", ["Tenancy agreement", "Xinhua street, Wujiang", f"from {today:%Y-%m}"])
        request = await facility_service.file_change_request_for_member(
            ctx,
            xh_clerk,
            by_no["SG0000000007"]["id_number"],
            codes["H44020300005"],
            codes["H44020300006"],
            "relocation",
            "已搬到新华街道居住（柜台代办，已核验身份证）",
            [evidence],
        )
        made["pending_change_request"] = request.id
    return made


def walk_note(today: date) -> str:
    return (
        f"Walk data of {today.isoformat()}: SG0000000004 has a pair and a newborn draft for SG0000000005; "
        "SG0000000001 has a submitted referral claim (reviewer_agency: 报销审核); SG0000000007 has a pending "
        "change request filed at clerk_wj_xh's counter."
    )
