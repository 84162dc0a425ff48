"""The dry run in-process, for `certgov test --offline`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from certgov.errors import CertgovError


def offline_evaluate(
    request: Mapping[str, Any], policy: Mapping[str, Any] | None, policy_id: Any
) -> Mapping[str, Any]:
    """The dry run in-process, through the same rule engine the reference server runs."""
    from certgov.rules.engine import PolicyInput, evaluate
    from certgov.rules.request import parse_request
    from certgov.rules.validation import InvalidPolicyError

    if policy is None:
        raise CertgovError("offline tests need the policy inline, not a stored policy id")
    parsed, problems = parse_request(request)
    if parsed is None:
        raise CertgovError(
            "invalid test request: " + "; ".join(f"{path}: {msg}" for path, msg in problems)
        )
    try:
        policy_input = PolicyInput.from_json(policy)
    except InvalidPolicyError as exc:
        listed = "; ".join(f"{path}: {msg}" for path, msg in exc.problems)
        raise CertgovError(f"invalid policy: {listed}") from None
    return evaluate(parsed, [policy_input], ignore_enabled=True).to_json()
