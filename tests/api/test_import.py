"""Issue 5: the registry import reports every rejection by line and leaves nothing half-imported."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
from datetime import date, timedelta

import asyncpg
import pytest

from member_api.core.keys import load_keyring
from member_api.jobs.demo import demo_id
from member_api.members import importer, registry
from member_api.members.identity import check_digit
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


# Issue 19: the import streams the file in batches (COPY into a staging table on PostgreSQL), then applies it
# set-based; the file-order rules hold across batches and a fatal error anywhere leaves the registry untouched.


def _person_id(seq: int) -> str:
    body = f"440204{date(1950, 1, 1) + timedelta(days=seq):%Y%m%d}{seq % 1000:03d}"
    return body + check_digit(body)


def _line(no: str, seq: int, *, name: str = "测试居民", year: str = "2026", guardian: str = "", phone: str = "") -> str:
    return f"{no},{name},{_person_id(seq)},{'MF'[seq % 2]},浈江区,{phone},{guardian},{year},1,2025-12-20"


@pytest.fixture
def copies(database, monkeypatch):
    """Small batches (so a file spans several), and a count of the COPY statements PostgreSQL received."""
    monkeypatch.setattr(importer, "BATCH", 150)
    calls: list[int] = []
    if database["kind"] == "postgres":
        original = asyncpg.Connection.copy_records_to_table

        async def counting(self, table_name, *, records, **kwargs):
            calls.append(len(records))
            return await original(self, table_name, records=records, **kwargs)

        monkeypatch.setattr(asyncpg.Connection, "copy_records_to_table", counting)
    return calls


async def test_import_in_batches_keeps_the_file_order_rules(world, database, tmp_path, copies):
    lines = [_line(f"P{n:04d}", n, phone=f"139{n:08d}" if n % 3 else "") for n in range(400)]
    lines[3] = _line("P0003", 3, guardian="P0399")  # the guardian comes 396 lines (two batches) later
    lines.insert(199, _line("BAD0001", 1000).replace("浈江区", "火星区"))
    lines.insert(299, _line("P0010", 10, name="改名后", year="2025"))  # the same person, another year, new name
    lines.insert(349, _line("P0020", 20))  # the same person and year again
    lines.insert(399, _line("NEW0001", 30))  # P0030's ID number under another insurance number
    path = tmp_path / "big.csv"
    path.write_text(HEADER + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    before = await Member.count()
    report = await import_csv(database["settings"], path, progress=False)
    assert report.fatal is None
    assert (report.imported, report.updated, report.rejected_count, report.lines) == (400, 0, 3, 404)
    assert report.rejected == [
        {"line": 201, "reason": "unknown division '火星区'"},
        {"line": 351, "reason": "duplicate in file"},
        {"line": 401, "reason": "duplicate in file"},
    ]
    assert await Member.count() == before + 400
    assert not await Member.exists().where(Member.insurance_no.is_in(["BAD0001", "NEW0001"]))
    renamed = await Member.select().where(Member.insurance_no == "P0010").first()
    assert renamed["name"] == "改名后"
    years = await Enrollment.select(Enrollment.year).where(Enrollment.member == renamed["id"])
    assert sorted(r["year"] for r in years) == [2025, 2026]
    ward = await Member.select(Member.guardian).where(Member.insurance_no == "P0003").first()
    guardian = await Member.select(Member.id).where(Member.insurance_no == "P0399").first()
    assert ward["guardian"] == guardian["id"]
    subjects = {r["credential_subject"] for r in await Member.select(Member.credential_subject)}
    assert len(subjects) == await Member.count()
    if database["kind"] == "postgres":
        assert len(copies) >= 2 and sum(copies) == 403  # every valid line went in by COPY (duplicates too)


async def test_reimport_of_the_same_file_updates_in_place(world, database, tmp_path, copies):
    lines = [_line(f"R{n:04d}", n) for n in range(300)]
    path = tmp_path / "again.csv"
    path.write_text(HEADER + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    first = await import_csv(database["settings"], path, progress=False)
    kept = {r["insurance_no"]: r for r in await Member.select().where(Member.insurance_no.like("R%"))}
    again = await import_csv(database["settings"], path, progress=False)
    assert (first.imported, first.updated, again.imported, again.updated) == (300, 0, 0, 300)
    now = {r["insurance_no"]: r for r in await Member.select().where(Member.insurance_no.like("R%"))}
    assert now == kept  # same rows, credential subjects included: codes on screens stay valid
    lines[7] = _line("R0007", 7, name="新名字", phone="13912345678").replace(",1,2025-12-20", ",0,2025-12-21")
    path.write_text(HEADER + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    third = await import_csv(database["settings"], path, progress=False)
    assert (third.imported, third.updated) == (0, 300)
    changed = await Member.select().where(Member.insurance_no == "R0007").first()
    assert (changed["name"], changed["phone_masked"]) == ("新名字", "139****5678")
    assert changed["credential_subject"] == kept["R0007"]["credential_subject"]
    enrollment = await Enrollment.select().where(Enrollment.member == changed["id"]).first()
    assert (enrollment["paid_up"], enrollment["enrolled_on"]) == (False, date(2025, 12, 21))
    assert await Member.select().where(Member.insurance_no == "R0008").first() == kept["R0008"]


async def test_fatal_error_after_several_batches_leaves_the_registry_as_it_was(world, database, tmp_path, copies):
    existing = await Member.select().where(Member.insurance_no == "SG0000000001").first()
    good = [_line(f"F{n:04d}", n) for n in range(400)]
    changed = f"SG0000000001,改了名,{world['members'][0]['id_number']},M,浈江区,,,2026,1,2025-12-20"
    path = tmp_path / "late.csv"
    path.write_bytes((HEADER + "\n" + changed + "\n" + "\n".join(good) + "\n").encode() + b"F9999,\xff\xfe\n")
    before = await Member.count()
    report = await import_csv(database["settings"], path, progress=False)
    assert report.fatal and "utf-8" in report.fatal and (report.imported, report.updated) == (0, 0)
    assert await Member.count() == before
    assert await Member.select().where(Member.insurance_no == "SG0000000001").first() == existing
    if database["kind"] == "postgres":
        assert len(copies) >= 2  # batches had gone in before the bad bytes: the transaction took them back


async def test_an_id_number_registered_under_another_number_is_fatal_and_changes_nothing(world, database, tmp_path):
    taken = world["members"][0]["id_number"]
    path = tmp_path / "clash.csv"
    path.write_text(
        HEADER + "\n" + _line("C0001", 1) + "\n" + f"C0002,冒名,{taken},M,浈江区,,,2026,1,2025-12-20\n",
        encoding="utf-8",
    )
    before = await Member.count()
    report = await import_csv(database["settings"], path, progress=False)
    assert report.fatal == "an ID number in the file belongs to another insurance number in the registry"
    assert (report.imported, report.updated) == (0, 0)
    assert await Member.count() == before and not await Member.exists().where(Member.insurance_no == "C0001")


def _cli(database, path, *flags):
    env = {
        **os.environ,
        "MEMBER_API_DATABASE_URL": database["url"],
        "MEMBER_API_DATA_DIR": str(database["settings"].data_dir),
        "COLUMNS": "160",
    }
    return subprocess.run(
        [sys.executable, "-m", "member_api.cli", "import-members", str(path), *flags],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_cli_shows_a_progress_bar_unless_quiet(world, database, tmp_path):
    path = tmp_path / "cli.csv"
    rows = [_line(f"Q{n:04d}", n) for n in range(50)] + [_line("QBAD", 60).replace("浈江区", "火星区")]
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    loud = await asyncio.to_thread(_cli, database, path)
    assert loud.returncode == 0, loud.stderr
    assert json.loads(loud.stdout)["imported"] == 50
    assert "rows/s" in loud.stderr and "1 rejected" in loud.stderr and "100%" in loud.stderr
    quiet = await asyncio.to_thread(_cli, database, path, "--quiet")
    assert quiet.returncode == 0 and quiet.stderr == ""
    summary = json.loads(quiet.stdout)
    assert (summary["imported"], summary["updated"], summary["rejected"]) == (0, 50, 1)
    assert summary["rejections"] == [{"line": 52, "reason": "unknown division '火星区'"}]


async def test_the_fast_path_builds_the_same_records_as_parse_row(database, tmp_path):
    """The importer's fast path is an optimisation of parse_row + StageRecords.of: same values, same hashes."""
    keyring = load_keyring(database["settings"].resolved_key_dir)
    raw = [
        [" P1 ", "王五 ", _person_id(1).lower(), "M", "浈江区", "13900000001", "", "2026", "1", "2025-12-20"],
        ["P2", "赵六", _person_id(2), "F", "武江区", "", "P1", "", "0", ""],
        ["P3", "钱七", _person_id(3), "M", "曲江区", " 13900000003 ", "", " 2025 ", "true", " 2025-01-31 "],
    ]
    header = list(COLUMNS)
    batcher = importer._Batcher(database["settings"], header, importer.Report())
    build = registry.StageRecords(keyring)
    for line, row in enumerate(raw, start=2):
        fast = batcher._fast(row, line, "subject")
        assert fast is not None
        parsed = importer.parse_row(dict(zip(COLUMNS, row, strict=True)))
        assert not isinstance(parsed, str)
        assert fast == build.of(line, parsed, "subject")
    rng = random.Random(19)
    for _ in range(2000):
        body = "".join(rng.choices("0123456789", k=17))
        assert importer.fast_check_digit(body) == check_digit(body)
    hash_id = registry.keyed_hasher(keyring, "id")
    for value in ("44020419800101001X", "", "王", "x" * 300):
        assert hash_id(value) == keyring.keyed_hash("id", value)
    subjects = registry.credential_subjects(1000)
    assert len(set(subjects)) == 1000 and {len(s) for s in subjects} == {16}
