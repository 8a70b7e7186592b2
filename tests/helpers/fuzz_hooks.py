"""schemathesis hooks for the fuzz test (loaded by file path through ``SCHEMATHESIS_HOOKS``)."""

from __future__ import annotations

import json
import uuid

import schemathesis

PROBLEM = "application/problem+json"


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    """A client makes one Idempotency-Key per intended request; drawn keys repeat across different bodies."""
    meta = case.meta
    if meta is not None and meta.generation.mode.is_positive and case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = str(uuid.uuid4())


@schemathesis.check
def problem_code_is_documented(ctx, response, case):
    """A problem+json answer carries a ``code`` the operation lists for that status (one example per code)."""
    content_type = (response.headers.get("content-type") or [""])[0]
    if not content_type.startswith(PROBLEM) or case.method.upper() != case.operation.method.upper():
        return None  # not a problem, or a probe with a method the path does not have (405)
    code = json.loads(response.content).get("code")
    documented = case.operation.definition.raw.get("responses", {}).get(str(response.status_code), {})
    codes = set(documented.get("content", {}).get(PROBLEM, {}).get("examples", {}))
    if code not in codes:
        raise AssertionError(
            f"{case.method} {case.path} answered {response.status_code} with code {code!r}, "
            f"which it does not document (documented: {sorted(codes)})"
        )
    return None
