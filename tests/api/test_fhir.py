"""Issue 18 item 4: the FHIR R4 read API. Every response parses back with the fhir.resources models; amounts
agree with the JSON API (R4 caps, R11 immutable movements, E1/E6); next links page; access is own + dependants'
for residents, everything for officers, nothing for other roles."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.coverageeligibilityresponse import CoverageEligibilityResponse
from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient

from member_api.auth.staff import create_staff
from member_api.jobs.demo import DEMO_PASSWORD
from tests.helpers import facility_id, member_entry, member_headers, staff_headers
from tests.helpers.claims import HOSPITAL, add_receipt, draft_claim

FHIR = "/fhir/R4"
PROBLEMS = "https://member-api.shaoguan.example/problems"


def fhir(response, model, status: int = 200):
    """The body as the FHIR model says it is (raises when it does not parse)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    return model.model_validate(response.json())


def outcome(response, status: int, code: str | None = None) -> OperationOutcome:
    parsed = fhir(response, OperationOutcome, status)
    issue = parsed.issue[0]
    assert issue.severity == "error" and issue.diagnostics
    if code:
        assert issue.details.coding[0].system == PROBLEMS and issue.details.coding[0].code == code
    return parsed


def fen(money) -> int:
    assert money.currency == "CNY"
    return int(Decimal(str(money.value)) * 100)


def totals(eob: ExplanationOfBenefit) -> dict[str, int]:
    return {t.category.coding[0].code: fen(t.amount) for t in eob.total}


async def _settle(client, clerk, id_number, visit_date="2026-11-24", **bill) -> dict:
    response = await client.post(
        "/v1/counter/settlements",
        json={"visit_date": visit_date, "id_number": id_number, **bill},
        headers={**clerk, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _reverse(client, clerk, settlement_id: int) -> dict:
    response = await client.post(
        f"/v1/counter/settlements/{settlement_id}/reversal",
        json={"reason": "重复录入"},
        headers={**clerk, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _officer(client) -> dict[str, str]:
    await create_staff("officer_fhir", DEMO_PASSWORD, "officer", None)
    return await staff_headers(client, "officer_fhir")


async def _all_pages(client, headers, url: str, params: dict | None = None) -> list[ExplanationOfBenefit]:
    found: list[ExplanationOfBenefit] = []
    response = await client.get(url, params=params, headers=headers)
    while True:
        page = fhir(response, Bundle)
        assert page.type == "searchset"
        found += [e.resource for e in page.entry or []]
        following = [link.url for link in page.link if link.relation == "next"]
        if not following:
            return found
        response = await client.get(following[0], headers=headers)


async def test_metadata_is_a_public_capability_statement(client):
    statement = fhir(await client.get(f"{FHIR}/metadata"), CapabilityStatement)
    assert statement.fhirVersion == "4.0.1" and statement.kind == "instance"
    served = {r.type: {i.code for i in r.interaction} for r in statement.rest[0].resource}
    assert served["ExplanationOfBenefit"] == {"read", "search-type"}
    assert set(served) == {
        "Patient",
        "Coverage",
        "CoverageEligibilityResponse",
        "ExplanationOfBenefit",
        "Organization",
        "Location",
    }


async def test_patient_shows_masked_identifiers_never_the_id_number_or_phone(client):
    entry = member_entry(client, "SG0000000001")
    member = await member_headers(client)
    me = (await client.get("/v1/me", headers=member)).json()["member"]
    response = await client.get(f"{FHIR}/Patient/{me['id']}", headers=member)
    patient = fhir(response, Patient)
    assert response.headers["cache-control"] == "no-store"
    assert entry["id_number"] not in response.text and entry["phone"] not in response.text
    assert entry["phone"][:3] + "****" not in response.text and not patient.telecom  # not even the masked phone
    values = {i.system.rsplit("/", 1)[1]: i.value for i in patient.identifier}
    assert values == {"insurance-no": "SG0000000001", "resident-id-masked": me["id_number_masked"]}
    assert "*" in values["resident-id-masked"] and patient.meta.security[0].code == "MASKED"
    assert patient.birthDate.isoformat() == me["birth_date"] and patient.gender == "male"
    designated = (await client.get("/v1/me/designation", headers=member)).json()["designation"]
    assert [g.reference for g in patient.generalPractitioner] == [
        f"Organization/{designated['institution']['id']}",
        f"Organization/{designated['station']['id']}",
    ]
    coverage = fhir(
        await client.get(f"{FHIR}/Coverage", params={"beneficiary": f"Patient/{me['id']}"}, headers=member), Bundle
    )
    years = [(e.resource.id, e.resource.status) for e in coverage.entry]
    assert years == [(f"{me['id']}-2026", "active"), (f"{me['id']}-2025", "active")]
    assert coverage.entry[0].resource.subscriberId == "SG0000000001"
    one = await client.get(f"{FHIR}/Coverage/{me['id']}-2026", headers=member)
    assert fhir(one, Coverage).period.end.isoformat() == "2026-12-31"


async def test_r4_eligibility_response_agrees_with_benefits_incl_the_out_of_city_sub_cap(client):
    entry = member_entry(client, "SG0000000001")
    clerk = await staff_headers(client, "clerk_zj_dh")
    await _settle(client, clerk, entry["id_number"], general_fee_fen=1000, compliant_fen=4000)  # E1: 35.00
    await create_staff("clerk_outside", DEMO_PASSWORD, "clerk", client.world["facilities"]["out_of_city"])
    outside = await staff_headers(client, "clerk_outside")
    await _settle(client, outside, entry["id_number"], compliant_fen=10000, emergency=True)  # E6 shape: 60.00 cap
    member = await member_headers(client)
    benefits = (await client.get("/v1/me/benefits", headers=member)).json()
    assert benefits["out_of_city_used_fen"] == benefits["out_of_city_cap_fen"] == 6000  # R4: sub-cap reached
    member_id = benefits["designation"]["member_id"]
    found = fhir(
        await client.get(f"{FHIR}/CoverageEligibilityResponse", params={"patient": member_id}, headers=member), Bundle
    )
    assert len(found.entry) == 1
    response = found.entry[0].resource
    assert isinstance(response, CoverageEligibilityResponse)
    insurance = response.insurance[0]
    assert insurance.inforce is benefits["eligible"] is True
    assert insurance.coverage.reference == f"Coverage/{member_id}-2026"
    annual, out_of_city = insurance.item
    assert out_of_city.network.coding[0].code == "out" and annual.network is None
    assert (fen(annual.benefit[0].allowedMoney), fen(annual.benefit[0].usedMoney)) == (
        benefits["annual_cap_fen"],
        benefits["used_fen"],
    )
    assert (fen(out_of_city.benefit[0].allowedMoney), fen(out_of_city.benefit[0].usedMoney)) == (
        benefits["out_of_city_cap_fen"],
        benefits["out_of_city_used_fen"],
    )
    read = await client.get(f"{FHIR}/CoverageEligibilityResponse/{member_id}-2026", headers=member)
    assert fhir(read, CoverageEligibilityResponse).insurance[0].item[0].benefit[0].usedMoney.value == Decimal(
        "95.00"
    )  # 35.00 + the 60.00 sub-cap
    outcome(await client.get(f"{FHIR}/CoverageEligibilityResponse/{member_id}-2019", headers=member), 404, "not_found")


async def test_r11_eob_amounts_agree_with_settlements_and_reversals(client):
    entry = member_entry(client, "SG0000000001")
    clerk = await staff_headers(client, "clerk_zj_dh")
    first = await _settle(
        client, clerk, entry["id_number"], general_fee_fen=1000, compliant_fen=4000, non_compliant_fen=1500
    )
    second = await _settle(client, clerk, entry["id_number"], compliant_fen=10000)
    reversal = await _reverse(client, clerk, first["id"])
    member = await member_headers(client)
    history = {h["id"]: h for h in (await client.get("/v1/me/settlements", headers=member)).json()["items"]}
    response = await client.get(
        f"{FHIR}/ExplanationOfBenefit", params={"patient": f"Patient/{first['member_id']}"}, headers=member
    )
    assert '"value":35.00' in response.text  # E1 35.00 CNY, converted from 3500 fen with its two places
    eobs = {int(e.resource.id): e.resource for e in fhir(response, Bundle).entry}
    assert list(eobs) == [reversal["id"], second["id"], first["id"]]  # newest first, as the JSON API
    for movement_id, eob in eobs.items():
        row = history[movement_id]
        assert eob.subType.coding[0].code == row["kind"]
        bill = row["general_fee_fen"] + row["compliant_fen"] + row["non_compliant_fen"]
        assert totals(eob) == {
            "submitted": bill,
            "eligible": row["general_fee_fen"] + row["compliant_fen"],
            "benefit": row["fund_fen"],
            "member-share": row["member_fen"],
        }
        assert fen(eob.payment.amount) == row["fund_fen"]
    assert totals(eobs[first["id"]]) == {"submitted": 6500, "eligible": 5000, "benefit": 3500, "member-share": 3000}
    e1_items = {i.productOrService.coding[0].code: i for i in eobs[first["id"]].item}
    general = {a.category.coding[0].code: a for a in e1_items["general_fee"].adjudication}
    assert fen(general["benefit"].amount) == 700 and general["eligpercent"].value == Decimal("70.00")
    assert e1_items["non_compliant"].adjudication[2].reason.coding[0].code == "non_compliant"
    related = eobs[reversal["id"]].related[0]
    assert related.reference.value == str(first["id"]) and related.relationship.coding[0].code == "prior"
    assert eobs[first["id"]].related[0].reference.value == str(reversal["id"])
    benefits = (await client.get("/v1/me/benefits", headers=member)).json()
    assert sum(totals(e)["benefit"] for e in eobs.values()) == benefits["used_fen"] == 7000
    balance = eobs[second["id"]].benefitBalance[0].financial[0]
    assert (fen(balance.allowedMoney), fen(balance.usedMoney)) == (benefits["annual_cap_fen"], benefits["used_fen"])
    one = fhir(await client.get(f"{FHIR}/ExplanationOfBenefit/{second['id']}", headers=member), ExplanationOfBenefit)
    assert (
        one.provider.reference == f"Organization/{second['facility_id']}"
        and one.payee.type.coding[0].code == "provider"
    )


async def test_next_links_page_every_movement_once_and_last_updated_filters(client):
    entry = member_entry(client, "SG0000000001")
    made = []
    for day in (20, 21, 22, 23, 24):
        client.clock.at = datetime(2026, 11, day, 2, 0, tzinfo=UTC)  # 10:00 in Shaoguan
        clerk = await staff_headers(client, "clerk_zj_dh")
        made.append(await _settle(client, clerk, entry["id_number"], visit_date=f"2026-11-{day}", compliant_fen=100))
        made.append(await _settle(client, clerk, entry["id_number"], visit_date=f"2026-11-{day}", compliant_fen=200))
    member = await member_headers(client)
    patient = made[0]["member_id"]
    url = f"{FHIR}/ExplanationOfBenefit"
    pages = await _all_pages(client, member, url, {"patient": patient, "_count": 3})
    json_ids = [
        h["id"] for h in (await client.get("/v1/me/settlements", params={"limit": 100}, headers=member)).json()["items"]
    ]
    assert [int(e.id) for e in pages] == json_ids == [m["id"] for m in reversed(made)]
    first = fhir(await client.get(url, params={"patient": patient, "_count": 3}, headers=member), Bundle)
    nxt = next(link.url for link in first.link if link.relation == "next")
    assert parse_qs(urlsplit(nxt).query)["_count"] == ["3"] and first.total is None
    proxied = {**member, "X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.cn"}
    behind = fhir(await client.get(url, params={"patient": patient, "_count": 3}, headers=proxied), Bundle)
    assert all(link.url.startswith("https://api.example.cn/fhir/R4/ExplanationOfBenefit?") for link in behind.link)
    assert behind.entry[0].fullUrl == f"https://api.example.cn/fhir/R4/ExplanationOfBenefit/{made[-1]['id']}"
    day = await _all_pages(client, member, url, {"patient": patient, "_lastUpdated": "2026-11-22"})
    assert [int(e.id) for e in day] == [made[5]["id"], made[4]["id"]]
    window = await _all_pages(
        client, member, url, {"patient": patient, "_lastUpdated": ["gt2026-11-21", "lt2026-11-24T00:00:00+08:00"]}
    )
    assert [int(e.id) for e in window] == [m["id"] for m in reversed(made[4:8])]
    outcome(
        await client.get(url, params={"patient": patient, "_cursor": "bm9wZQ"}, headers=member), 400, "invalid_search"
    )
    refused = await client.get(url, params={"patient": patient, "_lastUpdated": "sa2026"}, headers=member)
    assert outcome(refused, 400, "unsupported_search").issue[0].code == "not-supported"
    outcome(await client.get(url, params={"patient": patient, "_count": 0}, headers=member), 400)
    outcome(await client.get(url, headers=member), 400, "invalid_search")


async def test_e4_claim_payout_is_an_eob_paid_to_the_member(client):
    entry = member_entry(client, "SG0000000001")
    clerk = await staff_headers(client, "clerk_zj_dh")
    hospital = await facility_id(client, HOSPITAL)
    referral = await client.post(
        "/v1/counter/referrals",
        json={
            "id_number": entry["id_number"],
            "target_facility_id": hospital,
            "valid_from": "2026-11-24",
            "valid_to": "2026-12-31",
        },
        headers={**clerk, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert referral.status_code == 201, referral.text
    member = await member_headers(client)
    items = [{"care_date": "2026-11-24", "facility_id": hospital, "compliant_fen": 20000}]
    claim = await draft_claim(
        client, member, {"kind": "referral", "referral_id": referral.json()["id"], "items": items}
    )
    assert (await add_receipt(client, member, claim)).status_code == 201
    assert (await client.post(f"/v1/me/claims/{claim['id']}/submit", headers=member)).status_code == 200
    reviewer = await staff_headers(client, "reviewer_agency")
    decided = await client.post(
        f"/v1/review/claims/{claim['id']}/decision",
        headers=reviewer,
        json={"items": [{"item_id": claim["items"][0]["id"], "decision": "approve"}]},
    )
    assert decided.status_code == 200, decided.text
    payout = (await client.get("/v1/me/settlements", headers=member)).json()["items"][0]
    eob = fhir(await client.get(f"{FHIR}/ExplanationOfBenefit/{payout['id']}", headers=member), ExplanationOfBenefit)
    assert eob.subType.coding[0].code == "claim_payout" and eob.payee.type.coding[0].code == "subscriber"
    assert totals(eob)["benefit"] == payout["fund_fen"] == 10000  # E4: 50% of 200.00 at a tertiary hospital
    assert eob.provider.reference == f"Organization/{hospital}"


async def test_facilities_as_organization_and_location(client):
    member = await member_headers(client)
    station = await facility_id(client, client.world["facilities"]["designated_station"])
    institution = await facility_id(client, client.world["facilities"]["designated_institution"])
    org = fhir(await client.get(f"{FHIR}/Organization/{station}", headers=member), Organization)
    assert org.partOf.reference == f"Organization/{institution}"
    assert org.identifier[0].value == client.world["facilities"]["designated_station"]
    place = fhir(await client.get(f"{FHIR}/Location/{institution}", headers=member), Location)
    assert place.managingOrganization.reference == f"Organization/{institution}" and place.position.latitude
    agency = fhir(await client.get(f"{FHIR}/Organization/agency", headers=member), Organization)
    assert agency.type[0].coding[0].code == "pay"
    outcome(await client.get(f"{FHIR}/Location/999999", headers=member), 404, "not_found")
    outcome(await client.get(f"{FHIR}/Organization/x", headers=member), 404, "not_found")
    unknown = outcome(await client.get(f"{FHIR}/Claim/1", headers=member), 404, "unsupported_resource")
    assert unknown.issue[0].code == "not-supported"
    outcome(await client.get(f"{FHIR}/Patient", params={"name": "陈"}, headers=member), 404, "unsupported_resource")


async def test_access_own_and_dependants_yes_other_member_no_clerk_no_officer_all(client):
    guardian_entry, stranger_entry = member_entry(client, "SG0000000004"), member_entry(client, "SG0000000001")
    clerk = await staff_headers(client, "clerk_zj_dh")
    own = await _settle(client, clerk, guardian_entry["id_number"], compliant_fen=1000)
    other = await _settle(client, clerk, stranger_entry["id_number"], compliant_fen=1000)
    guardian = await member_headers(client, "SG0000000004")
    dependants = (await client.get("/v1/me/dependants", headers=guardian)).json()
    newborn_id = dependants[0]["id"]
    stranger_id = other["member_id"]
    for path in (
        f"Patient/{newborn_id}",
        f"Patient/{own['member_id']}",
        f"CoverageEligibilityResponse/{newborn_id}-2026",
    ):
        assert (await client.get(f"{FHIR}/{path}", headers=guardian)).status_code == 200, path
    bundle = fhir(await client.get(f"{FHIR}/Coverage", params={"beneficiary": newborn_id}, headers=guardian), Bundle)
    assert bundle.entry[0].resource.beneficiary.reference == f"Patient/{newborn_id}"
    for path, params in (
        (f"Patient/{stranger_id}", None),
        ("Coverage", {"beneficiary": stranger_id}),
        ("CoverageEligibilityResponse", {"patient": stranger_id}),
        ("ExplanationOfBenefit", {"patient": stranger_id}),
        (f"ExplanationOfBenefit/{other['id']}", None),
        ("Patient/999999", None),
    ):
        outcome(await client.get(f"{FHIR}/{path}", params=params, headers=guardian), 404, "not_found")
    for staff in (clerk, await staff_headers(client, "reviewer_agency")):
        for path in (f"Patient/{own['member_id']}", f"ExplanationOfBenefit/{own['id']}", "Organization/agency"):
            outcome(await client.get(f"{FHIR}/{path}", headers=staff), 403, "forbidden")
    anonymous = await client.get(f"{FHIR}/Patient/{own['member_id']}")
    outcome(anonymous, 401, "unauthorized")
    assert anonymous.headers["www-authenticate"] == "Bearer"
    officer = await _officer(client)
    fhir(await client.get(f"{FHIR}/Patient/{stranger_id}", headers=officer), Patient)
    eobs = fhir(
        await client.get(f"{FHIR}/ExplanationOfBenefit", params={"patient": stranger_id}, headers=officer), Bundle
    )
    assert [int(e.resource.id) for e in eobs.entry] == [other["id"]]
    outcome(await client.get(f"{FHIR}/Patient/999999", headers=officer), 404, "not_found")
