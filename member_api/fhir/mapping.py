"""Project data -> FHIR R4 resources, as plain JSON-ready dicts; every one is checked against the
``fhir.resources`` R4B model of its type before it is sent (``encode``).

Pure: no I/O, no web stack. Money is integer fen in the project and a FHIR ``Money`` in CNY here, converted
exactly (``Decimal(fen).scaleb(-2)``, never through a float) and written as a JSON number with its two decimals.
The mapping of each element is explained in docs/fhir.md.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import msgspec

from member_api.catalogue.schemas import ItemView
from member_api.core import labels
from member_api.core.labels import bilingual
from member_api.ledger.schemas import SettlementView
from member_api.members.schemas import EnrollmentView, MemberView

FHIR_VERSION = "4.0.1"
MEDIA_TYPE = "application/fhir+json"
CURRENCY = "CNY"

# Identifier and code systems of this project (names, not resolvable pages), beside HL7's own.
OWN = "https://member-api.shaoguan.example/fhir"
PROBLEMS = "https://member-api.shaoguan.example/problems"
SID_INSURANCE_NO = f"{OWN}/sid/insurance-no"
SID_RESIDENT_ID_MASKED = f"{OWN}/sid/resident-id-masked"
SID_SETTLEMENT = f"{OWN}/sid/settlement"
SID_FACILITY = f"{OWN}/sid/facility-code"
SID_ELIGIBILITY_REQUEST = f"{OWN}/sid/eligibility-request"
CS_FACILITY_KIND = f"{OWN}/CodeSystem/facility-kind"
CS_FACILITY_TIER = f"{OWN}/CodeSystem/facility-tier"
CS_MOVEMENT_KIND = f"{OWN}/CodeSystem/movement-kind"
CS_MOVEMENT_RELATION = f"{OWN}/CodeSystem/movement-relation"
CS_BILL_ITEM = f"{OWN}/CodeSystem/bill-item"
CS_MED_LIST = f"{OWN}/CodeSystem/med-list-codg"
"""The national medical insurance catalogue's codes (国家医保目录编码 med_list_codg: drugs, consumables, services)."""
CS_REASON = f"{OWN}/CodeSystem/reimbursement-reason"
CS_ADJUDICATION = f"{OWN}/CodeSystem/adjudication"
CS_BENEFIT = f"{OWN}/CodeSystem/benefit"

HL7 = "http://terminology.hl7.org/CodeSystem"
ADJUDICATION = f"{HL7}/adjudication"
CLAIM_TYPE = f"{HL7}/claim-type"
BENEFIT_TYPE = f"{HL7}/benefit-type"
BENEFIT_NETWORK = f"{HL7}/benefit-network"
BENEFIT_UNIT = f"{HL7}/benefit-unit"
BENEFIT_TERM = f"{HL7}/benefit-term"
IDENTIFIER_TYPE = f"{HL7}/v2-0203"
ACT_CODE = f"{HL7}/v3-ActCode"
SUBSCRIBER_RELATIONSHIP = f"{HL7}/subscriber-relationship"
COVERAGE_CLASS = f"{HL7}/coverage-class"
ORGANIZATION_TYPE = f"{HL7}/organization-type"
PAYEE_TYPE = f"{HL7}/payeetype"
PAYMENT_TYPE = f"{HL7}/ex-paymenttype"
RELATED_CLAIM = f"{HL7}/ex-relatedclaimrelationship"
SECURITY_LABEL = f"{HL7}/v3-ObservationValue"
LOCATION_TYPE = f"{HL7}/location-physical-type"

AGENCY_ID = "agency"
AGENCY_NAME = "韶关市医疗保障经办机构"
AGENCY_REF = {"reference": f"Organization/{AGENCY_ID}", "display": AGENCY_NAME}
PLAN_CODE, PLAN_NAME = "outpatient-pooling", "城乡居民基本医疗保险普通门诊统筹 (residents' general outpatient pooling)"

# Display texts: both words of the one label table (core/labels.py), Chinese first.
FACILITY_KINDS = {code: bilingual(label) for code, label in labels.FACILITY_KINDS.items()}
MOVEMENT_KINDS = {code: bilingual(label) for code, label in labels.MOVEMENT_KINDS.items()}
BILL_ITEMS = {code: bilingual(label) for code, label in labels.LINE_ITEMS.items()}
CAP_REASONS = ("annual_cap_reached", "out_of_city_cap_reached")
ISSUE_TYPES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported"}
ISSUE_TYPES |= {406: "not-supported", 409: "conflict", 413: "too-long", 415: "not-supported", 422: "invalid"}
ISSUE_TYPES |= {429: "throttled", 503: "transient"}

JSON_ENCODER = msgspec.json.Encoder(decimal_format="number")


# ---- datatypes ------------------------------------------------------------------------------------------------


def money(fen: int) -> dict[str, Any]:
    """Integer fen as FHIR Money in CNY: 3500 -> 35.00, exactly (a Decimal with two places, never a float)."""
    return {"value": Decimal(int(fen)).scaleb(-2), "currency": CURRENCY}


def fen_of(value: Decimal | float | int | str) -> int:
    """The inverse of ``money``: a Money value back to integer fen; refuses anything finer than a fen."""
    cents = Decimal(str(value)).scaleb(2)
    if cents != cents.to_integral_value():
        raise ValueError(f"{value} is not a whole number of fen")
    return int(cents)


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    return {"system": system, "code": code} | ({"display": display} if display else {})


def concept(system: str, code: str, display: str | None = None, text: str | None = None) -> dict[str, Any]:
    return {"coding": [coding(system, code, display)]} | ({"text": text} if text else {})


def reference(resource_type: str, resource_id: int | str, display: str | None = None) -> dict[str, Any]:
    return {"reference": f"{resource_type}/{resource_id}"} | ({"display": display} if display else {})


def instant(value: datetime) -> str:
    return value.isoformat()


def coverage_id(member_id: int, year: int) -> str:
    return f"{member_id}-{year}"


def split_year_id(value: str) -> tuple[int, int] | None:
    """``"12-2026"`` -> (12, 2026): the id of a Coverage or CoverageEligibilityResponse."""
    member, _, year = value.partition("-")
    if not (member.isdigit() and year.isdigit() and len(year) == 4 and len(member) <= 10):
        return None
    return int(member), int(year)


# ---- Patient, Coverage ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FacilityName:
    id: int
    name: str


def patient(member: MemberView, designated: Iterable[FacilityName] = ()) -> dict[str, Any]:
    """The registry record: the insurance number and the *masked* ID number; never the ID number or a phone."""
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(member.id),
        "meta": {"security": [coding(SECURITY_LABEL, "MASKED", "masked")]},
        "identifier": [
            {
                "use": "official",
                "type": concept(IDENTIFIER_TYPE, "MB", "Member Number", "医保参保号 insurance number"),
                "system": SID_INSURANCE_NO,
                "value": member.insurance_no,
            },
            {
                "use": "secondary",
                "type": concept(IDENTIFIER_TYPE, "NI", "National unique individual identifier", "居民身份证号（脱敏）"),
                "system": SID_RESIDENT_ID_MASKED,
                "value": member.id_number_masked,
            },
        ],
        "active": True,
        "name": [{"use": "official", "text": member.name}],
        "gender": {"M": "male", "F": "female"}.get(member.sex, "unknown"),
        "birthDate": member.birth_date.isoformat(),
        "address": [{"use": "home", "district": member.division, "city": "韶关市", "state": "广东省", "country": "CN"}],
    }
    practitioners = [reference("Organization", f.id, f.name) for f in designated]
    if practitioners:
        resource["generalPractitioner"] = practitioners
    return resource


def coverage(member: MemberView, enrollment: EnrollmentView) -> dict[str, Any]:
    """One insurance year of the member (R1): active when paid up; enrolled but not paid up is a draft."""
    year = enrollment.year
    start = max(enrollment.enrolled_on, date(year, 1, 1))
    return {
        "resourceType": "Coverage",
        "id": coverage_id(member.id, year),
        "status": "active" if enrollment.paid_up else "draft",
        "type": concept(ACT_CODE, "PUBLICPOL", "public healthcare", "城乡居民基本医疗保险 residents' basic insurance"),
        "subscriber": reference("Patient", member.id),
        "subscriberId": member.insurance_no,
        "beneficiary": reference("Patient", member.id),
        "relationship": concept(SUBSCRIBER_RELATIONSHIP, "self", "Self"),
        "period": {"start": start.isoformat(), "end": date(year, 12, 31).isoformat()},
        "payor": [AGENCY_REF],
        "class": [
            {"type": concept(COVERAGE_CLASS, "plan", "Plan"), "value": PLAN_CODE, "name": PLAN_NAME},
            {"type": concept(COVERAGE_CLASS, "group", "Group"), "value": str(year), "name": f"{year} 年度 policy year"},
        ],
    }


# ---- benefit figures (CoverageEligibilityResponse items, ExplanationOfBenefit balances) ----------------------


@dataclass(frozen=True)
class CapFigures:
    """The annual cap and the out-of-city sub-cap of one policy year (R4), allowed and used, in fen."""

    year: int
    annual_cap_fen: int
    used_fen: int
    out_of_city_cap_fen: int
    out_of_city_used_fen: int


def _benefit_rows(caps: CapFigures) -> list[tuple[dict[str, Any], str, str, int, int]]:
    """(network or {}, name, description, allowed, used) of the annual cap and the out-of-city sub-cap."""
    return [
        (
            {},
            "年度统筹支付限额 annual cap",
            "Fund payment per member per year, all care (R4)",
            caps.annual_cap_fen,
            caps.used_fen,
        ),
        (
            {"network": concept(BENEFIT_NETWORK, "out", "Out of Network", "市外就医 care outside the city")},
            "市外就医子限额 out-of-city sub-cap",
            "Part of the annual cap usable for care outside the city (R4)",
            caps.out_of_city_cap_fen,
            caps.out_of_city_used_fen,
        ),
    ]


def _benefit_heading(network: dict[str, Any], name: str, description: str) -> dict[str, Any]:
    return {
        "category": concept(CS_BENEFIT, PLAN_CODE, "普通门诊统筹 general outpatient pooling"),
        "excluded": False,
        "name": name,
        "description": description,
        **network,
        "unit": concept(BENEFIT_UNIT, "individual", "Individual"),
        "term": concept(BENEFIT_TERM, "annual", "Annual"),
    }


def _allowed_used(allowed: int, used: int) -> dict[str, Any]:
    return {
        "type": concept(BENEFIT_TYPE, "benefit", "Benefit"),
        "allowedMoney": money(allowed),
        "usedMoney": money(used),
    }


def benefit_balance(caps: CapFigures) -> list[dict[str, Any]]:
    return [
        _benefit_heading(network, name, text) | {"financial": [_allowed_used(allowed, used)]}
        for network, name, text, allowed, used in _benefit_rows(caps)
    ]


def eligibility_response(
    member_id: int, caps: CapFigures, in_force: bool, created: datetime, served: date
) -> dict[str, Any]:
    """The member's standing for a policy year: in force or not (R1), the caps allowed and used (R4)."""
    year = caps.year
    period = {"start": date(year, 1, 1).isoformat(), "end": date(year, 12, 31).isoformat()}
    return {
        "resourceType": "CoverageEligibilityResponse",
        "id": coverage_id(member_id, year),
        "meta": {"lastUpdated": instant(created)},
        "status": "active",
        "purpose": ["benefits"],
        "patient": reference("Patient", member_id),
        "servicedDate": served.isoformat(),
        "created": instant(created),
        "request": {
            "identifier": {"system": SID_ELIGIBILITY_REQUEST, "value": coverage_id(member_id, year)},
            "display": "benefits inquiry by read/search (no CoverageEligibilityRequest is stored)",
        },
        "outcome": "complete",
        "insurer": AGENCY_REF,
        "insurance": [
            {
                "coverage": reference("Coverage", coverage_id(member_id, year)),
                "inforce": in_force,
                "benefitPeriod": period,
                "item": [
                    _benefit_heading(network, name, text) | {"benefit": [_allowed_used(allowed, used)]}
                    for network, name, text, allowed, used in _benefit_rows(caps)
                ],
            }
        ],
    }


# ---- ExplanationOfBenefit -------------------------------------------------------------------------------------


def _adjudication(category: dict[str, Any], fen: int, reason: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"category": category} | ({"reason": reason} if reason else {}) | {"amount": money(fen)}


def _reasons(codes: Iterable[str]) -> dict[str, Any] | None:
    codes = list(codes)
    if not codes:
        return None
    return {"coding": [coding(CS_REASON, c) for c in codes], "text": ", ".join(codes)}


SUBMITTED = concept(ADJUDICATION, "submitted", "Submitted Amount")
ELIGIBLE = concept(ADJUDICATION, "eligible", "Eligible Amount")
BENEFIT = concept(ADJUDICATION, "benefit", "Benefit Amount")
ELIGIBLE_PERCENT = concept(ADJUDICATION, "eligpercent", "Eligible %")
MEMBER_SHARE = concept(CS_ADJUDICATION, "member-share", "个人负担 member share", "paid by the member")
CAP_REDUCTION = concept(CS_ADJUDICATION, "cap-reduction", "限额扣减 reduced by a cap (R4)")


def _bill_line(line: ItemView, visit: str) -> dict[str, Any]:
    """R18: one bill line, its product or service coded by the national catalogue code (med_list_codg); eligible is
    its compliant part (inscp_scp_amt), the benefit the fund's share of it before the cap."""
    return {
        "sequence": line.line_no,
        "productOrService": concept(CS_MED_LIST, line.code, line.name or None),
        "servicedDate": visit,
        "quantity": {"value": Decimal(str(line.count))},
        "unitPrice": money(line.unit_price_fen),
        "net": money(line.amount_fen),
        "adjudication": [
            _adjudication(SUBMITTED, line.amount_fen),
            _adjudication(ELIGIBLE, line.compliant_fen, _reasons(line.reasons)),
            {"category": ELIGIBLE_PERCENT, "value": Decimal(line.ratio_bp).scaleb(-2)},
            _adjudication(BENEFIT, line.fund_fen),
        ],
    }


def explanation_of_benefit(view: SettlementView, caps: CapFigures | None) -> dict[str, Any]:
    """One fund movement (counter settlement, claim payout or reversal) with its adjudication.

    Totals: submitted = the whole bill; eligible = general fee + compliant expenses (合规费用); benefit = the
    fund's payment; member share = the rest. A reversal is its own EOB with negated amounts that refers to the
    original, so benefits over all EOBs of a year add up to the cap used, as in the JSON API.
    """
    submitted = view.general_fee_fen + view.compliant_fen + view.non_compliant_fen
    eligible = view.general_fee_fen + view.compliant_fen
    visit = view.visit_date.isoformat()
    items = [
        {
            "sequence": n,
            "productOrService": concept(CS_BILL_ITEM, line.item, BILL_ITEMS.get(line.item)),
            "servicedDate": visit,
            "net": money(line.amount_fen),
            "adjudication": [
                _adjudication(SUBMITTED, line.amount_fen),
                {"category": ELIGIBLE_PERCENT, "value": Decimal(line.ratio_bp).scaleb(-2)},
                _adjudication(BENEFIT, line.fund_fen, _reasons(line.reasons)),
            ],
        }
        for n, line in enumerate(view.lines, start=1)
    ]
    if view.items:
        items = [_bill_line(line, visit) for line in view.items]
    resource: dict[str, Any] = {
        "resourceType": "ExplanationOfBenefit",
        "id": str(view.id),
        "meta": {"lastUpdated": instant(view.created_at)},
        "identifier": [{"system": SID_SETTLEMENT, "value": str(view.id)}],
        "status": "active",
        "type": concept(CLAIM_TYPE, "institutional", "Institutional"),
        "subType": concept(CS_MOVEMENT_KIND, view.kind, MOVEMENT_KINDS.get(view.kind)),
        "use": "claim",
        "patient": reference("Patient", view.member_id),
        "billablePeriod": {"start": visit, "end": visit},
        "created": instant(view.created_at),
        "insurer": AGENCY_REF,
        "provider": reference("Organization", view.facility_id, view.facility_name or None),
        "facility": reference("Location", view.facility_id, view.facility_name or None),
        "outcome": "complete",
        "insurance": [{"focal": True, "coverage": reference("Coverage", coverage_id(view.member_id, view.year))}],
    }
    related = []
    if view.reverses is not None:
        relation = {"coding": [coding(RELATED_CLAIM, "prior", "Prior Claim"), coding(CS_MOVEMENT_RELATION, "reverses")]}
        related.append({"relationship": relation, "reference": {"system": SID_SETTLEMENT, "value": str(view.reverses)}})
    if view.reversed_by is not None:
        relation = concept(CS_MOVEMENT_RELATION, "reversed-by")
        related.append(
            {"relationship": relation, "reference": {"system": SID_SETTLEMENT, "value": str(view.reversed_by)}}
        )
    if related:
        resource["related"] = related
    if view.kind == "counter":
        resource["payee"] = {"type": concept(PAYEE_TYPE, "provider", "Provider"), **_party("Organization", view)}
    elif view.kind == "claim_payout":
        resource["payee"] = {"type": concept(PAYEE_TYPE, "subscriber", "Subscriber"), **_party("Patient", view)}
    if items:
        resource["item"] = items
    cut = sum(line.fund_fen for line in view.lines) - view.fund_fen
    capped = [r for r in view.reasons if r in CAP_REASONS]
    if items and cut > 0 and capped:
        resource["adjudication"] = [_adjudication(CAP_REDUCTION, cut, _reasons(capped))]
    resource["total"] = [
        _adjudication(SUBMITTED, submitted),
        _adjudication(ELIGIBLE, eligible),
        _adjudication(BENEFIT, view.fund_fen),
        _adjudication(MEMBER_SHARE, view.member_fen),
    ]
    resource["payment"] = {
        "type": concept(PAYMENT_TYPE, "complete", "Complete"),
        "date": view.created_at.date().isoformat(),
        "amount": money(view.fund_fen),
    }
    if caps is not None:
        resource["benefitPeriod"] = {"start": date(caps.year, 1, 1).isoformat(), "end": f"{caps.year}-12-31"}
        resource["benefitBalance"] = benefit_balance(caps)
    return resource


def _party(resource_type: str, view: SettlementView) -> dict[str, Any]:
    if resource_type == "Patient":
        return {"party": reference("Patient", view.member_id)}
    return {"party": reference("Organization", view.facility_id, view.facility_name or None)}


# ---- Organization, Location -----------------------------------------------------------------------------------


def _address(row: dict[str, Any]) -> dict[str, Any]:
    city = {"city": "韶关市", "state": "广东省"} if row["in_city"] else {}
    return {"use": "work", "text": row["address"], "district": row["division"], **city, "country": "CN"}


def _facility_identifier(row: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"use": "official", "system": SID_FACILITY, "value": row["code"]}]


def organization(row: dict[str, Any]) -> dict[str, Any]:
    """A facility as the provider that is paid; a village station is part of the institution that runs it."""
    resource: dict[str, Any] = {
        "resourceType": "Organization",
        "id": str(row["id"]),
        "identifier": _facility_identifier(row),
        "active": bool(row["active"]),
        "type": [
            {
                "coding": [
                    coding(ORGANIZATION_TYPE, "prov", "Healthcare Provider"),
                    coding(CS_FACILITY_KIND, row["kind"], FACILITY_KINDS.get(row["kind"])),
                ]
            },
            concept(CS_FACILITY_TIER, row["tier"]),
        ],
        "name": row["name"],
        "address": [_address(row)],
    }
    if row["parent"]:
        resource["partOf"] = reference("Organization", row["parent"])
    return resource


def agency() -> dict[str, Any]:
    """The insurer of every Coverage and ExplanationOfBenefit: the agency that runs the scheme."""
    return {
        "resourceType": "Organization",
        "id": AGENCY_ID,
        "active": True,
        "type": [concept(ORGANIZATION_TYPE, "pay", "Payer")],
        "name": AGENCY_NAME,
        "alias": ["Shaoguan medical insurance agency"],
        "address": [{"city": "韶关市", "state": "广东省", "country": "CN"}],
    }


def location(row: dict[str, Any]) -> dict[str, Any]:
    """A facility as the place of care, with its coordinates."""
    resource: dict[str, Any] = {
        "resourceType": "Location",
        "id": str(row["id"]),
        "identifier": _facility_identifier(row),
        "status": "active" if row["active"] else "inactive",
        "name": row["name"],
        "mode": "instance",
        "type": [concept(CS_FACILITY_KIND, row["kind"], FACILITY_KINDS.get(row["kind"]))],
        "address": _address(row),
        "physicalType": concept(LOCATION_TYPE, "bu", "Building"),
        "position": {"longitude": Decimal(str(row["lng"])), "latitude": Decimal(str(row["lat"]))},
        "managingOrganization": reference("Organization", row["id"], row["name"]),
    }
    if row["parent"]:
        resource["partOf"] = reference("Location", row["parent"])
    return resource


# ---- Bundle, OperationOutcome, CapabilityStatement ------------------------------------------------------------


def bundle(
    base: str, self_url: str, resources: list[dict[str, Any]], now: datetime, next_url: str | None = None
) -> dict[str, Any]:
    """A searchset; ``total`` is left out when pages are keyset (the count would cost a scan)."""
    links = [{"relation": "self", "url": self_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    result: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": instant(now),
        "link": links,
    }
    if next_url is None:
        result["total"] = len(resources)
    result["entry"] = [
        {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
        for r in resources
    ]
    return result


def operation_outcome(
    status: int,
    code: str,
    message_zh: str,
    message_en: str,
    fields: Iterable[tuple[str, str]] = (),
    issue_type: str | None = None,
) -> dict[str, Any]:
    """A refusal: the same stable ``code`` and texts as the JSON API's problem+json, as FHIR issues."""
    issue_type = issue_type or ISSUE_TYPES.get(status, "exception" if status >= 500 else "processing")
    issues = [
        {
            "severity": "error",
            "code": issue_type,
            "details": {"coding": [coding(PROBLEMS, code)], "text": message_zh},
            "diagnostics": message_en,
        }
    ]
    issues += [
        {"severity": "error", "code": issue_type, "diagnostics": message, "expression": [field]}
        for field, message in fields
    ]
    return {"resourceType": "OperationOutcome", "issue": issues}


def _search_param(name: str, kind: str, text: str) -> dict[str, Any]:
    return {"name": name, "type": kind, "documentation": text}


def capability_statement(base: str, software_version: str, today: date) -> dict[str, Any]:
    read, search = {"code": "read"}, {"code": "search-type"}
    patient_param = _search_param("patient", "reference", "Patient/{id} or {id}; required")
    return {
        "resourceType": "CapabilityStatement",
        "id": "member-api",
        "status": "active",
        "date": today.isoformat(),
        "publisher": "member-api",
        "description": "Read-only FHIR R4 view of Shaoguan residents' general outpatient pooling: members, their "
        "coverage and remaining benefit, fund movements as ExplanationOfBenefit, and facilities.",
        "kind": "instance",
        "software": {"name": "member-api", "version": software_version},
        "implementation": {"description": "member-api FHIR R4 read API", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": [MEDIA_TYPE, "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Every read needs `Authorization: Bearer <access token>` of a resident (own and "
                "dependants' records) or an officer (all). Amounts are CNY.",
                "security": {
                    "cors": False,
                    "description": "Bearer JWT (EdDSA) from POST /v1/auth/login or /v1/auth/staff/login.",
                },
                "resource": [
                    {"type": "Patient", "interaction": [read]},
                    {
                        "type": "Coverage",
                        "interaction": [read, search],
                        "searchParam": [_search_param("beneficiary", "reference", "Patient/{id} or {id}; required")],
                    },
                    {
                        "type": "CoverageEligibilityResponse",
                        "interaction": [read, search],
                        "searchParam": [patient_param],
                    },
                    {
                        "type": "ExplanationOfBenefit",
                        "interaction": [read, search],
                        "searchParam": [
                            patient_param,
                            _search_param("_lastUpdated", "date", "prefixes eq, ge, gt, le, lt; repeat to AND"),
                        ],
                    },
                    {"type": "Organization", "interaction": [read]},
                    {"type": "Location", "interaction": [read]},
                ],
            }
        ],
    }


# ---- checking and encoding ------------------------------------------------------------------------------------


@functools.cache
def model_class(resource_type: str) -> Any:
    """The ``fhir.resources`` R4B model of a resource type (R4B = R4 for every type served here: docs/fhir.md)."""
    module = importlib.import_module(f"fhir.resources.R4B.{resource_type.lower()}")
    return getattr(module, resource_type)


def check(resource: dict[str, Any]) -> dict[str, Any]:
    """Validate against the FHIR model (raises pydantic's ValidationError); returns the dict unchanged."""
    model_class(resource["resourceType"]).model_validate(resource)
    return resource


def encode(resource: dict[str, Any]) -> bytes:
    """Checked, then written with decimals as JSON numbers that keep their places (35.00, not 35.0)."""
    return JSON_ENCODER.encode(check(resource))
