"""The agency's periods: the policy year of a period, and the refusal of a month that has not ended yet."""

from __future__ import annotations

from member_api.core.errors import DomainError
from member_api.policy import parameters
from member_api.policy.capitation import next_month_start


def policy_year(year: int) -> parameters.PolicyYear:
    try:
        return parameters.for_year(year)
    except parameters.NoPolicyYear:
        raise DomainError(
            "no_policy_year", f"{year} 年度没有普通门诊统筹政策参数", f"No policy parameters for {year}."
        ) from None


def month_not_ended(year: int, month: int) -> DomainError:
    return DomainError(
        "month_not_ended",
        f"{year} 年 {month} 月尚未结束，不能结算",
        f"{year}-{month:02d} has not ended yet.",
        extra={"available_from": next_month_start(year, month).isoformat()},
    )
