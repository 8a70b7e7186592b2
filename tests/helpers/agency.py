"""Data the agency tests stand on: many signed-up members and fund movements, written in bulk.

Fund movements are written here directly (as fixture data, like a migration of history would); the API never
writes them outside the ledger. Amounts are chosen by each test.
"""

from __future__ import annotations

import csv
import io
import itertools
from datetime import UTC, date, datetime
from typing import Any

from openpyxl import load_workbook

from member_api import db

_SEQ = itertools.count(1)


async def sign_up(
    n: int,
    institution_id: int,
    year: int,
    station_id: int | None = None,
    valid_from: date | None = None,
    valid_to: date | None = None,
) -> list[int]:
    """``n`` registry members designated at the pair from ``valid_from`` (default 1 January) for ``year``."""
    batch = next(_SEQ)
    rows = [
        (
            f"AG{batch:03d}{k:07d}",
            "测试居民",
            f"hash-{batch}-{k}",
            "4402**********0000",
            date(1980, 1, 1),
            "F",
            "浈江区",
            None,
            "",
            None,
            f"ag{batch}x{k}",
        )
        for k in range(n)
    ]
    async with db.write_transaction():
        await db.execute_many(
            "INSERT INTO member (insurance_no, name, id_hash, id_masked, birth_date, sex, division, phone_hash,"
            " phone_masked, guardian, credential_subject) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
            rows,
        )
        found = await db.fetch("SELECT id FROM member WHERE insurance_no LIKE {} ORDER BY id", f"AG{batch:03d}%")
        ids = [r["id"] for r in found]
        await db.execute_many(
            "INSERT INTO enrollment (member, year, paid_up, enrolled_on) VALUES ({}, {}, {}, {})",
            [(m, year, True, date(year - 1, 12, 15)) for m in ids],
        )
        await db.execute_many(
            "INSERT INTO designation (member, year, institution, station, valid_from, valid_to, source, created_at)"
            " VALUES ({}, {}, {}, {}, {}, {}, {}, {})",
            [
                (m, year, institution_id, station_id, valid_from or date(year, 1, 1), valid_to, "first_choice", _now())
                for m in ids
            ],
        )
    return ids


def _now() -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC)


async def movement(
    member: int,
    facility: int,
    visit_date: date,
    fund_fen: int,
    *,
    kind: str = "counter",
    general_fee_fen: int = 0,
    compliant_fen: int | None = None,
    non_compliant_fen: int = 0,
    member_fen: int = 0,
) -> int:
    """One fund movement (and the member's account, so a later reversal through the API restores it)."""
    compliant = fund_fen if compliant_fen is None else compliant_fen
    async with db.write_transaction():
        row = await db.fetch_one(
            "INSERT INTO movement (member, facility, kind, year, visit_date, clerk_id, general_fee_fen,"
            " compliant_fen, non_compliant_fen, emergency, referral_id, out_of_city, fund_fen, member_fen, lines,"
            " reasons, repeat_same_day, credential_jti, reverses, reason_text, created_at) VALUES ({}, {}, {}, {},"
            " {}, NULL, {}, {}, {}, {}, NULL, {}, {}, {}, '[]', '[]', {}, NULL, NULL, '', {}) RETURNING id",
            member,
            facility,
            kind,
            visit_date.year,
            visit_date,
            general_fee_fen,
            compliant,
            non_compliant_fen,
            False,
            False,
            fund_fen,
            member_fen,
            False,
            _now(),
        )
        await db.fetch(
            "INSERT INTO benefit_account (member, year, used_fen, used_out_of_city_fen, updated_at)"
            " VALUES ({}, {}, {}, 0, {}) ON CONFLICT (member, year) DO UPDATE"
            " SET used_fen = benefit_account.used_fen + excluded.used_fen",
            member,
            visit_date.year,
            fund_fen,
            _now(),
        )
    assert row is not None
    return int(row["id"])


async def claim_with_receipt(member: int, lodged_with: int, sha256: str, at: datetime) -> int:
    """A submitted claim with one item and one receipt file of the given hash (for R16 duplicate receipts)."""
    async with db.write_transaction():
        claim = await db.fetch_one(
            "INSERT INTO claim (member, submitted_by, kind, referral, lodged_with, division, status,"
            " reviewer_comment, paid_fen, created_at, submitted_at) VALUES ({}, {}, 'newborn', NULL, {}, '浈江区',"
            " 'submitted', '', 0, {}, {}) RETURNING id",
            member,
            member,
            lodged_with,
            at,
            at,
        )
        assert claim is not None
        item = await db.fetch_one(
            "INSERT INTO claim_item (claim, care_date, facility, out_of_city_name, general_fee_fen, compliant_fen,"
            " non_compliant_fen, status, reject_reason, fund_fen) VALUES ({}, {}, {}, '', 0, 1000, 0, 'pending',"
            " '', 0) RETURNING id",
            claim["id"],
            at.date(),
            lodged_with,
        )
        assert item is not None
        await db.fetch(
            "INSERT INTO receipt (claim, item, sha256, content_type, size, filename, reused, created_at)"
            " VALUES ({}, {}, {}, 'image/png', 10, 'r.png', {}, {})",
            claim["id"],
            item["id"],
            sha256,
            False,
            at,
        )
    return int(claim["id"])


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "CSV starts with the UTF-8 byte order mark"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def read_xlsx(body: bytes) -> dict[str, list[list[Any]]]:
    workbook = load_workbook(io.BytesIO(body))
    return {ws.title: [list(row) for row in ws.iter_rows(values_only=True)] for ws in workbook.worksheets}


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"
