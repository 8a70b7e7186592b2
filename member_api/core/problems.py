"""The one table from problem code to HTTP status: services raise a code, this table says what HTTP makes of it.

``DomainError(code, ...)`` (core/errors.py) takes its status from here, and a route's OpenAPI declaration
``problems("code", ...)`` (core/openapi.py) reads the same table, so a code answers with one status everywhere.
A new code is added here (and its words to ``core/labels.PROBLEMS``); ``tests/api/test_labels.py`` checks both.
"""

from __future__ import annotations

from collections.abc import Iterable

_BY_STATUS: dict[int, tuple[str, ...]] = {
    400: (
        "bad_request",
        "body_too_deep",
        "form_invalid",
        "idempotency_key_invalid",
        "idempotency_key_missing",
        "invalid_cursor",
        "malformed_body",
        "malformed_form",
        "malformed_json",
        "malformed_query",
    ),
    401: (
        "credential_expired",
        "credential_invalid",
        "login_failed",
        "metrics_unauthorized",
        "otp_invalid",
        "refresh_invalid",
        "refresh_reused",
        "session_ended",
        "token_expired",
        "token_invalid",
        "token_malformed",
        "token_not_yet_valid",
        "unauthorized",
        "wechat_code_invalid",
        "wechat_not_linked",
    ),
    403: (
        "binding_needs_verification",
        "binding_required",
        "family_scope_missing",
        "forbidden",
        "metrics_disabled",
        "not_designated_facility",
        "not_member_facility",
        "not_primary_institution_clerk",
    ),
    404: (
        "submission_not_found",
        "member_not_found",
        "month_not_closed",
        "not_enrolled",
        "not_found",
        "sample_not_drawn",
        "signal_not_found",
        "staff_not_found",
        "year_not_settled",
    ),
    405: ("method_not_allowed",),
    406: ("not_acceptable",),
    409: (
        "adjustment_fund_insufficient",
        "allocation_exceeds_overspend",
        "month_not_cleared",
        "year_already_settled",
        "account_already_bound",
        "already_bound",
        "already_reversed",
        "change_request_closed",
        "change_request_open",
        "change_request_required",
        "claim_not_draft",
        "claim_not_reviewable",
        "claim_taken_by_another_reviewer",
        "conflict",
        "credential_used",
        "december_not_cleared",
        "dispute_exists",
        "dispute_not_in_hand",
        "family_grant_ended",
        "family_grant_exists",
        "family_grant_not_pending",
        "family_limit_reached",
        "idempotency_in_progress",
        "month_not_ended",
        "month_out_of_order",
        "no_designation",
        "same_designation",
        "signal_already_reviewed",
        "wechat_already_linked",
    ),
    413: ("body_too_large",),
    415: ("unsupported_media_type",),
    422: (
        "items_and_totals",
        "submission_file_invalid",
        "submission_invalid",
        "binding_code_invalid",
        "claim_incomplete",
        "confirmation_required",
        "control_character",
        "decision_incomplete",
        "decision_missing",
        "dispute_window_closed",
        "facility_inactive",
        "facility_not_found",
        "facility_out_of_city",
        "facility_required",
        "family_member_is_minor",
        "family_self",
        "file_corrupt",
        "file_empty",
        "file_required",
        "file_too_large",
        "file_type_not_allowed",
        "id_card_not_checked",
        "idempotency_key_reused",
        "identity_required",
        "image_too_large",
        "invalid_amount",
        "invalid_id_number",
        "invalid_items",
        "invalid_phone",
        "invalid_referral_target",
        "newborn_claim_needs_dependant",
        "newborn_not_eligible",
        "newborn_not_paid_up",
        "no_policy_year",
        "not_eligible",
        "not_primary_institution",
        "not_village_station",
        "note_required",
        "outside_claim_window",
        "pdf_active_content",
        "pdf_encrypted",
        "period_invalid",
        "quote_expired",
        "quote_invalid",
        "quote_mismatch",
        "reason_required",
        "referral_form_invalid",
        "referral_not_found",
        "reversal_outside_policy_year",
        "sms_rejected",
        "station_not_allowed",
        "station_of_other_institution",
        "station_required",
        "too_many_files",
        "validation_error",
        "visit_outside_policy_year",
    ),
    429: ("binding_locked", "login_throttled", "rate_limited"),
    500: ("internal_error",),
    503: ("national_credential_unavailable", "sms_unavailable", "unavailable", "wechat_unavailable"),
}
STATUS: dict[str, int] = {code: status for status, codes in _BY_STATUS.items() for code in codes}
"""Problem code -> HTTP status."""


def status_of(code: str) -> int:
    """The status a code answers with; a code missing here is a programming error (the tests list every code)."""
    return STATUS[code]


def by_status(codes: Iterable[str]) -> dict[int, tuple[str, ...]]:
    """Codes grouped by their status, in the order given (what an OpenAPI operation lists per response)."""
    grouped: dict[int, list[str]] = {}
    for code in codes:
        grouped.setdefault(STATUS[code], []).append(code)
    return {status: tuple(listed) for status, listed in grouped.items()}
