"""Issue 18 item 2: the committed OpenAPI document is a contract a client generator can rely on."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from member_api.core.idempotency import key_from
from tests.helpers import member_headers

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT: dict[str, Any] = json.loads((ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8"))
PROBLEM = "application/problem+json"
METHODS = ("get", "put", "post", "delete", "patch")
LOWER_CAMEL_VERB = re.compile(r"^[a-z]+(?:[A-Z][a-z0-9]*)*$")

# Published operation ids: generated clients name their functions after them, so they change only with a
# deprecation period (ARCHITECTURE.md). New routes add to this list.
PUBLISHED = {
    ("GET", "/.well-known/jwks.json"): "getJwks",
    ("GET", "/health/live"): "checkLiveness",
    ("GET", "/health/ready"): "checkReadiness",
    ("POST", "/v1/auth/login"): "login",
    ("POST", "/v1/auth/logout"): "logout",
    ("POST", "/v1/auth/otp"): "sendLoginCode",
    ("POST", "/v1/auth/refresh"): "refreshTokens",
    ("POST", "/v1/auth/staff/login"): "loginStaff",
    ("POST", "/v1/counter/referrals"): "createReferral",
    ("POST", "/v1/counter/settlements"): "settleVisit",
    ("POST", "/v1/counter/settlements/{settlement_id}/reversal"): "reverseSettlement",
    ("POST", "/v1/counter/verify"): "verifyMember",
    ("GET", "/v1/facilities"): "searchFacilities",
    ("GET", "/v1/facilities/{facility_id}"): "getFacility",
    ("GET", "/v1/me"): "getMe",
    ("GET", "/v1/me/benefits"): "getBenefits",
    ("GET", "/v1/me/benefits/summary"): "getBenefitsSummary",
    ("POST", "/v1/me/binding"): "bindRecord",
    ("GET", "/v1/me/claims"): "listClaims",
    ("POST", "/v1/me/claims"): "createClaim",
    ("GET", "/v1/me/claims/{claim_id}"): "getClaim",
    ("POST", "/v1/me/claims/{claim_id}/receipts"): "addClaimReceipts",
    ("GET", "/v1/me/claims/{claim_id}/receipts/{receipt_id}"): "getClaimReceipt",
    ("POST", "/v1/me/claims/{claim_id}/submit"): "submitClaim",
    ("GET", "/v1/me/credential"): "getCredential",
    ("GET", "/v1/me/credential.png"): "getCredentialPng",
    ("GET", "/v1/me/credential.svg"): "getCredentialSvg",
    ("GET", "/v1/me/dependants"): "listDependants",
    ("GET", "/v1/me/designation"): "getDesignation",
    ("PUT", "/v1/me/designation"): "chooseDesignation",
    ("GET", "/v1/me/designation/change-requests"): "listChangeRequests",
    ("POST", "/v1/me/designation/change-requests"): "requestDesignationChange",
    ("POST", "/v1/me/designation/change-requests/{request_id}/withdraw"): "withdrawChangeRequest",
    ("GET", "/v1/me/designation/history"): "listDesignationHistory",
    ("GET", "/v1/me/referrals"): "listReferrals",
    ("GET", "/v1/me/settlements"): "listSettlements",
    ("GET", "/v1/me/settlements/{settlement_id}"): "getSettlement",
    ("GET", "/v1/review/change-requests"): "listChangeRequestsForReview",
    ("POST", "/v1/review/change-requests/{request_id}/decision"): "decideChangeRequest",
    ("GET", "/v1/review/claims"): "listClaimsForReview",
    ("GET", "/v1/review/claims/{claim_id}"): "getClaimForReview",
    ("POST", "/v1/review/claims/{claim_id}/decision"): "decideClaim",
    ("GET", "/v1/review/claims/{claim_id}/receipts/{receipt_id}"): "getClaimReceiptForReview",
    ("POST", "/v1/review/claims/{claim_id}/review"): "startClaimReview",
}
IDEMPOTENT = {
    "createClaim",
    "settleVisit",
    "reverseSettlement",
    "createCounterBinding",
    "recordDesignationForMember",
    "fileChangeRequestForMember",
    "createReferral",  # issue 33 item 10
    "addClaimReceipts",
    "recordPaymentEvent",
    "recordSubscriptions",
    "allocateAdjustmentFund",
    "submitFacilityStatistics",
    "uploadFacilityStatistics",
}
SYSTEM_CREDENTIAL = {"recordPaymentEvent"}  # issue 33: the agency's payment system
AUTH_CODES = {"unauthorized", "token_expired", "token_invalid", "token_malformed", "token_not_yet_valid"}


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in DOCUMENT["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def problem_codes(operation: dict[str, Any], status: int) -> set[str]:
    response = operation["responses"].get(str(status), {})
    return set(response.get("content", {}).get(PROBLEM, {}).get("examples", {}))


def test_every_operation_has_a_unique_lower_camel_verb_id_and_published_ids_stay():
    ids = [operation.get("operationId", "") for _, _, operation in operations()]
    assert all(LOWER_CAMEL_VERB.match(i) for i in ids), [i for i in ids if not LOWER_CAMEL_VERB.match(i)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    current = {(method, path): operation["operationId"] for method, path, operation in operations()}
    assert {key: current.get(key) for key in PUBLISHED} == PUBLISHED


def test_every_enum_is_a_named_schema():
    """Generators name an inline enum after where it appears (``V1MeSettlementsSettlementsKindType2Type1``)."""
    inline: list[str] = []

    def walk(node: Any, where: str, named: bool) -> None:
        if isinstance(node, dict):
            if "enum" in node and not named:
                inline.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}", False)
        elif isinstance(node, list):
            for n, value in enumerate(node):
                walk(value, f"{where}/{n}", False)

    walk(DOCUMENT["paths"], "#/paths", False)
    for name, schema in DOCUMENT["components"]["schemas"].items():
        walk(schema, f"#/components/schemas/{name}", True)
    assert inline == []
    for name in ("ClaimKind", "ClaimStatus", "SettlementKind", "ChangeReason", "Decision"):
        assert DOCUMENT["components"]["schemas"][name]["type"] == "string"
    kind = next(p for p in DOCUMENT["paths"]["/v1/me/settlements"]["get"]["parameters"] if p["name"] == "kind")
    assert {"$ref": "#/components/schemas/SettlementKind"} in kind["schema"]["oneOf"]


def test_idempotency_key_is_a_required_header_exactly_where_the_server_demands_it():
    declared = set()
    for _, _, operation in operations():
        headers = [p for p in operation.get("parameters", []) if p["in"] == "header" and p["name"] == "Idempotency-Key"]
        if headers:
            declared.add(operation["operationId"])
            assert headers[0]["required"] is True
            assert {"idempotency_key_missing", "idempotency_key_invalid"} <= problem_codes(operation, 400)
            assert "idempotency_in_progress" in problem_codes(operation, 409)
            assert "idempotency_key_reused" in problem_codes(operation, 422)
    assert declared == IDEMPOTENT


@pytest.mark.parametrize("key", ["a", "0f8fa7c2-3a51-4a36-9b1d-1c0d3f9c6e5a", "~" * 255, "k e y"])
def test_keys_the_header_schema_allows_are_keys_the_server_takes(key):
    schema = next(
        p["schema"]
        for p in DOCUMENT["paths"]["/v1/counter/settlements"]["post"]["parameters"]
        if p["name"] == "Idempotency-Key"
    )
    jsonschema_rs.validate(schema, key)

    class Request:
        headers = {"Idempotency-Key": key}

    assert key_from(Request()) == key  # type: ignore[arg-type]


def test_error_responses_are_problems_with_an_example_per_code():
    validator = jsonschema_rs.Draft202012Validator(
        {"$ref": "#/components/schemas/Problem", "components": DOCUMENT["components"]}
    )
    for method, path, operation in operations():
        for status, response in operation["responses"].items():
            if not status.startswith("4"):
                continue
            media = response["content"][PROBLEM]
            assert media["schema"] == {"$ref": "#/components/schemas/Problem"}, (method, path, status)
            assert media["examples"], (method, path, status)
            for code, example in media["examples"].items():
                assert example["value"]["code"] == code and example["value"]["status"] == int(status)
                validator.validate(example["value"])
                assert f"`{code}`" in response["description"]


def test_operations_list_only_the_errors_they_can_answer():
    by_id = {operation["operationId"]: operation for _, _, operation in operations()}
    assert set(by_id["checkLiveness"]["responses"]) == {"200"}
    assert set(by_id["getJwks"]["responses"]) == {"200"}
    for method, path, operation in operations():
        statuses = set(operation["responses"])
        assert not statuses & {"405", "500"}, (method, path)
        if operation["operationId"] in SYSTEM_CREDENTIAL:  # a hashed system secret, not a JWT: no token_* codes
            assert problem_codes(operation, 401) == {"unauthorized"}, (method, path)
        elif operation.get("security"):
            assert AUTH_CODES <= problem_codes(operation, 401), (method, path)
        elif operation["operationId"] not in ("login", "loginStaff", "loginWechat", "refreshTokens"):  # bad credentials
            assert "401" not in statuses, (method, path)
        if "requestBody" in operation:
            assert "validation_error" in problem_codes(operation, 422), (method, path)
        if "{" in path:
            assert "not_found" in problem_codes(operation, 404), (method, path)
    # Kinds of operation, each with what its kind answers: a form with files every upload check; a query parameter
    # (``?member_id=`` of a dependency too) the query checks.
    uploads = {"file_required", "file_corrupt", "pdf_encrypted", "pdf_active_content", "control_character"}
    for operation_id in ("fileDispute", "addClaimReceipts", "requestDesignationChange", "fileChangeRequestForMember"):
        assert uploads <= problem_codes(by_id[operation_id], 422), operation_id
    for operation_id in ("getCredential", "getMyDispute", "withdrawChangeRequest", "searchFacilities"):
        assert "malformed_query" in problem_codes(by_id[operation_id], 400), operation_id
        assert "control_character" in problem_codes(by_id[operation_id], 422), operation_id
    # Domain codes as the services raise them.
    assert problem_codes(by_id["settleVisit"], 409) == {"credential_used", "idempotency_in_progress"}
    assert problem_codes(by_id["bindRecord"], 429) == {"binding_locked"}
    assert problem_codes(by_id["getMe"], 403) == {"forbidden"}
    assert "binding_required" in problem_codes(by_id["getBenefits"], 403)
    assert "station_of_other_institution" in problem_codes(by_id["chooseDesignation"], 422)
    assert "not_found" in problem_codes(by_id["getFacilityReport"], 404)
    assert "no_policy_year" in problem_codes(by_id["getFacilityReport"], 422)  # one status per code (issue 27)
    assert problem_codes(by_id["getFacilityReport"], 403) == {"forbidden"}
    assert {"quote_expired", "quote_invalid", "quote_mismatch"} <= problem_codes(by_id["settleVisit"], 422)
    assert "visit_outside_policy_year" in problem_codes(by_id["quoteVisit"], 422)
    assert "not_primary_institution_clerk" in problem_codes(by_id["recordDesignationForMember"], 403)


def test_every_tag_is_described():
    described = {tag["name"]: tag.get("description") for tag in DOCUMENT.get("tags", [])}
    used = {tag for _, _, operation in operations() for tag in operation.get("tags", [])}
    assert used <= set(described), used - set(described)
    assert all(described[tag] for tag in used)


def _parameter(operation_id: str, name: str) -> dict[str, Any]:
    operation = next(op for _, _, op in operations() if op["operationId"] == operation_id)
    return next(p for p in operation["parameters"] if p["name"] == name)


def test_request_constraints_the_server_enforces_are_in_the_schema():
    schemas = DOCUMENT["components"]["schemas"]
    id_pattern = re.compile(schemas["BindingRequest"]["properties"]["id_number"]["pattern"])
    assert id_pattern.match("44020419850412013X") and not id_pattern.match("4402041985041201")
    near = re.compile(_parameter("searchFacilities", "near")["schema"]["pattern"])
    assert near.match("24.81,113.59") and near.match("-90,180")
    assert not near.match("90.5,113") and not near.match("24,180.01") and not near.match("24;113")
    form = schemas["ReceiptForm"]["properties"]["item_id"]
    assert form["minimum"] == 1


async def test_the_cursor_pattern_admits_the_cursors_the_server_issues(client):
    headers = await member_headers(client)
    pattern = re.compile(_parameter("searchFacilities", "cursor")["schema"]["pattern"])
    page = (await client.get("/v1/facilities", params={"limit": 1})).json()
    assert page["next_cursor"] and pattern.match(page["next_cursor"])
    again = await client.get("/v1/facilities", params={"limit": 1, "cursor": page["next_cursor"]})
    assert again.status_code == 200 and again.json()["items"][0]["id"] > page["items"][0]["id"]
    assert pattern.match("MA")  # "0": a cursor before every row is valid, and answers an empty or full page
    assert (await client.get("/v1/me/settlements", params={"cursor": "MA"}, headers=headers)).status_code == 200
    assert (await client.get("/v1/facilities", params={"cursor": "xyz"})).status_code == 422


async def test_the_document_is_served_at_the_root_and_under_docs(client):
    root = await client.get("/openapi.json")
    assert root.status_code == 200 and root.json()["openapi"].startswith("3.1")
    assert root.json() == (await client.get("/docs/openapi.json")).json()
