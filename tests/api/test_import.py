"""Issue 5: the registry import reports every rejection by line and leaves nothing half-imported."""

from __future__ import annotations

from datetime import date

from member_api.jobs.demo import demo_id
from member_api.members.importer import COLUMNS, import_csv
from member_api.members.tables import Enrollment, Member

HEADER = ",".join(COLUMNS)


def _id(seq: int) -> str:
    return demo_id("440204", date(1980, 1, 1 + seq), seq, "M")


async def test_import_upserts_and_reports_rejections_by_line(world, database, tmp_path):
    good = _id(11)
    bad_check = good[:17] + ("0" if good[17] != "0" else "1")
    rows = [
        f"IMP001,王大明,{good},M,浈江区,13911112222,,2026,1,2025-12-20",
        f"IMP002,李四,{bad_check},M,浈江区,,,2026,1,2025-12-20",
        f"IMP003,赵六,{_id(12)},M,火星区,,,2026,1,2025-12-20",
        f"IMP001,王大明,{good},M,浈江区,13911112222,,2026,1,2025-12-20",
        f"IMP004,钱七,{_id(13)},F,武江区,,,2026,1,2025-13-40",
        f"IMP005,孙八,{_id(14)},F,武江区,,IMP001,2026,0,2025-12-20",
    ]
    path = tmp_path / "export.csv"
    path.write_text("\ufeff" + HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    before = await Member.count()
    report = await import_csv(database["settings"], path, progress=False)
    assert (report.imported, report.updated, report.fatal) == (2, 0, None)
    reasons = {r["line"]: r["reason"] for r in report.rejected}
    assert set(reasons) == {3, 4, 5, 6}
    assert "check digit" in reasons[3] and "division" in reasons[4]
    assert reasons[5] == "duplicate in file" and "date" in reasons[6]
    assert await Member.count() == before + 2
    imported = await Member.select().where(Member.insurance_no == "IMP001").first()
    assert good not in str(imported) and imported["id_masked"].endswith(good[-4:])
    child = await Member.select().where(Member.insurance_no == "IMP005").first()
    assert child["guardian"] == imported["id"]
    assert (await Enrollment.select().where(Enrollment.member == child["id"]).first())["paid_up"] is False
    path.write_text(HEADER + "\n" + rows[0].replace("王大明", "王大民") + "\n", encoding="utf-8")
    again = await import_csv(database["settings"], path, progress=False)
    assert (again.imported, again.updated) == (0, 1)


async def test_fatal_error_leaves_the_registry_as_it_was(world, database, tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes(
        (HEADER + "\n" + f"IMP100,王一,{_id(20)},M,浈江区,,,2026,1,2025-12-20\n").encode() + b"\xff\xfe broken"
    )
    before = await Member.count()
    report = await import_csv(database["settings"], path, progress=False)
    assert report.fatal and report.imported == 0
    assert await Member.count() == before
    missing = tmp_path / "missing.csv"
    missing.write_text("insurance_no,name\nX,Y\n", encoding="utf-8")
    assert "missing columns" in (await import_csv(database["settings"], missing, progress=False)).fatal
