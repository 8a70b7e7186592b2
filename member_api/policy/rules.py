"""Which function decides each rule of docs/rules.md: one rule (or rule clause), one function, used by every caller.

Names only (``path/to/module.py::function``): this module imports nothing, so the pure policy stays pure. The
rule table in docs/rules.md is generated from this map and the tests named after each rule; a test checks both.
"""

RULES: dict[str, tuple[str, str]] = {
    "R1": (
        "Eligibility: enrolled and paid up, covered from the enrollment date",
        "member_api/policy/eligibility.py::is_eligible",
    ),
    "R2": (
        "Designation: one primary institution + one of its stations per year",
        "member_api/policy/designation.py::pair_problem",
    ),
    "R3": (
        "No fund payment outside designated care (emergency, referral, newborn excepted)",
        "member_api/policy/reimbursement.py::refusal_reason",
    ),
    "R4": ("No deductible; annual cap and out-of-city sub-cap", "member_api/policy/reimbursement.py::capped_fund"),
    "R5": (
        "Newborns: care from birth to a timely enrollment",
        "member_api/policy/eligibility.py::newborn_expense_covered",
    ),
    "R6": (
        "General diagnosis fee: standard per visit, fund ratio",
        "member_api/policy/reimbursement.py::general_fee_line",
    ),
    "R7": (
        "Compliant ratio by the tier of the facility of care",
        "member_api/policy/reimbursement.py::compliant_ratio_bp",
    ),
    "R8": ("Counter identification by e-credential or ID card", "member_api/credential/identify.py::identify_member"),
    "R9": (
        "Newborn claim window: last days of the month, end postponed over holidays",
        "member_api/policy/claim_window.py::in_claim_window",
    ),
    "R10": (
        "Referral approved by the designated facility covers the visit",
        "member_api/referrals/service.py::referral_for",
    ),
    "R11": ("Immutable fund movements: a reversal is a new negative movement", "member_api/ledger/service.py::reverse"),
    "R12": (
        "Funding: the per-member standard makes each institution's package",
        "member_api/policy/capitation.py::package_fen",
    ),
    "R13": (
        "Capitation: monthly prepayment of last month's headcount",
        "member_api/policy/capitation.py::monthly_prepayment",
    ),
    "R14": ("Facility monthly report confirmed by the due day", "member_api/policy/capitation.py::report_due"),
    "R15": ("Yearly assessment indicators per institution", "member_api/policy/capitation.py::indicators"),
    "R16": (
        "Abuse signals: outliers among peers (and documented signal queries)",
        "member_api/policy/capitation.py::outliers",
    ),
    "R17": ("Yearly parameters looked up by the date of care", "member_api/policy/parameters.py::for_date"),
    "R18": (
        "Compliant amount of a bill line from the catalogue entry valid on the date of care",
        "member_api/policy/fee_lines.py::value_line",
    ),
}
