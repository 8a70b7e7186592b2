"""Writing registry records in batches: the importer and the demo data share it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from member_api.keys import KeyRing
from member_api.members.identity import birth_date_of, mask_id, mask_phone, normalise_id
from member_api.members.tables import Enrollment, Member


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


async def upsert(keyring: KeyRing, rows: list[RegistryRow]) -> UpsertCounts:
    """Insert or update members by insurance number, then their guardians and enrollments.

    Rows must already be validated (ID check digit, division, dates, no duplicates in the batch).
    Call inside a transaction: a batch lands whole or not at all.
    """
    counts = UpsertCounts()
    if not rows:
        return counts
    numbers = [r.insurance_no for r in rows]
    existing = {
        m["insurance_no"]: m["id"]
        for m in await Member.select(Member.id, Member.insurance_no).where(Member.insurance_no.is_in(numbers))
    }
    fresh: dict[str, Member] = {}
    for row in rows:
        id_number = normalise_id(row.id_number)
        values = {
            Member.name: row.name,
            Member.id_hash: keyring.keyed_hash("id", id_number),
            Member.id_masked: mask_id(id_number),
            Member.birth_date: birth_date_of(id_number),
            Member.sex: row.sex,
            Member.division: row.division,
            Member.phone_hash: keyring.keyed_hash("phone", row.phone) if row.phone else None,
            Member.phone_masked: mask_phone(row.phone) if row.phone else "",
        }
        if row.insurance_no in existing:
            await Member.update(values).where(Member.id == existing[row.insurance_no])
            counts.updated += 1
        elif row.insurance_no not in fresh:  # the same person may come once per enrollment year
            fresh[row.insurance_no] = Member(
                insurance_no=row.insurance_no,
                credential_subject=secrets.token_urlsafe(12),
                **{col._meta.name: v for col, v in values.items()},
            )
    if fresh:  # one statement for the new members of the batch: the import's hot path
        inserted = await Member.insert(*fresh.values()).returning(Member.id, Member.insurance_no)
        existing.update({m["insurance_no"]: m["id"] for m in inserted})
        counts.inserted += len(inserted)
    guardians = {r.guardian_insurance_no for r in rows if r.guardian_insurance_no} - existing.keys()
    if guardians:
        found = await Member.select(Member.id, Member.insurance_no).where(Member.insurance_no.is_in(list(guardians)))
        existing.update({m["insurance_no"]: m["id"] for m in found})
    for row in rows:
        if row.guardian_insurance_no:
            await Member.update({Member.guardian: existing.get(row.guardian_insurance_no)}).where(
                Member.id == existing[row.insurance_no]
            )
    enrollments = [
        Enrollment(member=existing[r.insurance_no], year=r.year, paid_up=r.paid_up, enrolled_on=r.enrolled_on)
        for r in rows
        if r.year is not None and r.enrolled_on is not None
    ]
    if enrollments:
        await (
            Enrollment.insert(*enrollments)
            .on_conflict(
                target=(Enrollment.member, Enrollment.year),
                action="DO UPDATE",
                values=[Enrollment.paid_up, Enrollment.enrolled_on],
            )
            .run()
        )
    return counts
