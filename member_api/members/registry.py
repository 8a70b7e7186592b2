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
        else:
            member = Member(
                insurance_no=row.insurance_no,
                credential_subject=secrets.token_urlsafe(12),
                **{col._meta.name: v for col, v in values.items()},
            )
            await member.save()
            existing[row.insurance_no] = member.id
            counts.inserted += 1
    guardians = {r.guardian_insurance_no for r in rows if r.guardian_insurance_no} - existing.keys()
    if guardians:
        existing.update(
            {
                m["insurance_no"]: m["id"]
                for m in await Member.select(Member.id, Member.insurance_no).where(
                    Member.insurance_no.is_in(list(guardians))
                )
            }
        )
    for row in rows:
        if row.guardian_insurance_no:
            await Member.update({Member.guardian: existing.get(row.guardian_insurance_no)}).where(
                Member.id == existing[row.insurance_no]
            )
        if row.year is not None and row.enrolled_on is not None:
            await (
                Enrollment.insert(
                    Enrollment(
                        member=existing[row.insurance_no],
                        year=row.year,
                        paid_up=row.paid_up,
                        enrolled_on=row.enrolled_on,
                    )
                )
                .on_conflict(
                    target=(Enrollment.member, Enrollment.year),
                    action="DO UPDATE",
                    values=[Enrollment.paid_up, Enrollment.enrolled_on],
                )
                .run()
            )
    return counts
