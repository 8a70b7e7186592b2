"""Writing registry records in batches: the importer and the demo data share it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from member_api.core.keys import KeyRing
from member_api.db import execute_many
from member_api.members.identity import birth_date_of, mask_id, mask_phone, normalise_id
from member_api.members.tables import Member


@dataclass(frozen=True)
class RegistryRow:
    insurance_no: str
    name: str
    id_number: str
    sex: str
    division: str
    phone: str | None
    guardian_insurance_no: str | None
    year: int | None
    paid_up: bool
    enrolled_on: date | None


@dataclass
class UpsertCounts:
    inserted: int = 0
    updated: int = 0


MEMBER_UPSERT = (
    "INSERT INTO member (insurance_no, name, id_hash, id_masked, birth_date, sex, division, phone_hash, phone_masked,"
    " credential_subject) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}) ON CONFLICT (insurance_no) DO UPDATE SET"
    " name = excluded.name, id_hash = excluded.id_hash, id_masked = excluded.id_masked,"
    " birth_date = excluded.birth_date, sex = excluded.sex, division = excluded.division,"
    " phone_hash = excluded.phone_hash, phone_masked = excluded.phone_masked"
)
GUARDIAN_SET = (
    "UPDATE member SET guardian = (SELECT g.id FROM member g WHERE g.insurance_no = {}) WHERE insurance_no = {}"
)
ENROLLMENT_UPSERT = (
    "INSERT INTO enrollment (member, year, paid_up, enrolled_on)"
    " SELECT id, {}, {}, {} FROM member WHERE insurance_no = {}"
    " ON CONFLICT (member, year) DO UPDATE SET paid_up = excluded.paid_up, enrolled_on = excluded.enrolled_on"
)


async def upsert(keyring: KeyRing, rows: list[RegistryRow]) -> UpsertCounts:
    """Insert or update members by insurance number, then their guardians and enrollments.

    Rows must already be validated (ID check digit, division, dates, no duplicates in the batch). Call inside
    ``write_transaction()``: a batch lands whole or not at all. The credential subject of an existing member is
    never changed (codes already on screens stay valid).
    """
    counts = UpsertCounts()
    if not rows:
        return counts
    numbers = list({r.insurance_no for r in rows})
    existing = {
        m["insurance_no"] for m in await Member.select(Member.insurance_no).where(Member.insurance_no.is_in(numbers))
    }
    people: dict[str, tuple[object, ...]] = {}
    for row in rows:  # the same person may come once per enrollment year: the last line wins
        id_number = normalise_id(row.id_number)
        people[row.insurance_no] = (
            row.insurance_no,
            row.name,
            keyring.keyed_hash("id", id_number),
            mask_id(id_number),
            birth_date_of(id_number),
            row.sex,
            row.division,
            keyring.keyed_hash("phone", row.phone) if row.phone else None,
            mask_phone(row.phone) if row.phone else "",
            secrets.token_urlsafe(12),
        )
    await execute_many(MEMBER_UPSERT, list(people.values()))
    counts.updated = len(existing)
    counts.inserted = len(people) - len(existing)
    await execute_many(
        GUARDIAN_SET, [(r.guardian_insurance_no, r.insurance_no) for r in rows if r.guardian_insurance_no]
    )
    await execute_many(
        ENROLLMENT_UPSERT,
        [
            (r.year, r.paid_up, r.enrolled_on, r.insurance_no)
            for r in rows
            if r.year is not None and r.enrolled_on is not None
        ],
    )
    return counts
