"""The risks a security reviewer must see, one per line, from the changes alone."""

from __future__ import annotations

from typing import Any

import pytest

from certgov.plan.model import Action, Change
from certgov.plan.risks import Risk, change_risks
from certgov.state import POLICY, SERVICE_ACCOUNT, policy_spec, service_account_spec

ACCOUNT = service_account_spec(
    {
        "name": "ci",
        "scopes": ["write"],
        "ip_allowlist": ["203.0.113.0/24"],
        "expires_at": "2027-01-01",
    }
)
POLICY_SPEC = policy_spec(
    {
        "name": "p",
        "matching_criteria": {"domains": ["*.example.com"]},
        "rules": [{"action": "block_ca_flag", "fail": "hard"}],
    }
)


def policy_change(before: list[dict[str, Any]], after: list[dict[str, Any]], **top: Any) -> Change:
    def spec(rules: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
        return policy_spec(
            {"name": "p", "matching_criteria": {"domains": ["a.example.com"]}, "rules": rules}
            | more
        )

    return Change("update", POLICY, "p", spec(before), spec(after, **top))


def rule(action: str, fail: str = "hard", **values: Any) -> dict[str, Any]:
    return {"action": action, "fail": fail, "values": values}


def account_change(action: Action = "update", **after: Any) -> Change:
    return Change(action, SERVICE_ACCOUNT, "ci", ACCOUNT, {**ACCOUNT, **after})


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (account_change(ip_allowlist=[]), [("allowlist emptied", "any address may log in")]),
        (account_change(ip_allowlist=["203.0.113.0/25"]), []),
        (account_change(scopes=["read"]), []),
        (account_change(expires_at="2026-12-01T00:00:00+00:00"), []),
        (
            account_change("disable", enabled=False),
            [("account disabled", "it can no longer log in")],
        ),
        (
            Change("delete", SERVICE_ACCOUNT, "ci", ACCOUNT, None),
            [("account deleted", "it can no longer log in")],
        ),
        (
            Change("delete", POLICY, "p", POLICY_SPEC, None),
            [("policy removed", "none of its rules applies")],
        ),
        (
            Change("rotate", SERVICE_ACCOUNT, "ci", None, None, reason="secret is 91 days old"),
            [("secret rotated", "whoever uses the current secret is cut off")],
        ),
        (
            Change("rotate", SERVICE_ACCOUNT, "ci", None, None, never_used=True),
            [("secret rotated", "no one has logged in with the current secret")],
        ),
        (
            Change("enable", POLICY, "p", {**POLICY_SPEC, "enabled": False}, POLICY_SPEC),
            [("rule made hard", "block_ca_flag now blocks requests")],
        ),
        (
            Change("create", SERVICE_ACCOUNT, "ci", None, ACCOUNT),
            [
                (
                    "account created",
                    "scopes write; from 203.0.113.0/24; 2027-01-01T00:00:00+00:00",
                )
            ],
        ),
        (
            policy_change(
                [
                    rule("enforce_max_validity", max_days=90),
                    rule("enforce_minimum_key_size", minimum_bits=3072),
                ],
                [
                    rule("enforce_max_validity", max_days=365),
                    rule("enforce_minimum_key_size", minimum_bits=2048),
                ],
            ),
            [
                ("rule loosened", "enforce_max_validity: max_days 90 → 365"),
                ("rule loosened", "enforce_minimum_key_size: minimum_bits 3072 → 2048"),
            ],
        ),
        (
            policy_change(
                [
                    rule("enforce_max_validity", max_days=365),
                    rule("enforce_min_validity", min_days=1),
                ],
                [
                    rule("enforce_max_validity", max_days=90),
                    rule("enforce_min_validity", min_days=7),
                ],
            ),
            [],
        ),
        (
            policy_change(
                [rule("enforce_key_usage", key_usage=["digitalSignature", "keyEncipherment"])],
                [rule("enforce_key_usage", key_usage=["digitalSignature"])],
            ),
            [("rule loosened", "enforce_key_usage: key_usage no longer requires keyEncipherment")],
        ),
        (
            policy_change(
                [rule("enforce_values", organization="Example Ltd", country="NZ")],
                [rule("enforce_values", organization="Other Ltd")],
            ),
            [("rule loosened", "enforce_values: country no longer required (was NZ)")],
        ),
        (
            policy_change(
                [rule("enforce_max_san_count", "soft", max_count=5)],
                [rule("enforce_max_san_count", "soft", max_count=50)],
            ),
            [],
        ),
        (
            policy_change(
                [rule("enforce_max_san_count", max_count=5)],
                [rule("enforce_max_san_count", max_count=50)],
                enabled=False,
            ),
            [("policy disabled", "none of its rules applies")],
        ),
    ],
    ids=[
        "allowlist-emptied",
        "allowlist-narrowed",
        "scopes-narrowed",
        "expiry-shortened",
        "disabled",
        "account-deleted",
        "policy-deleted",
        "secret-rotated",
        "never-used-secret-rotated",
        "policy-enabled",
        "account-created",
        "limits-loosened",
        "limits-tightened",
        "key-usage-dropped",
        "subject-value-dropped",
        "soft-rule-loosened",
        "disabled-policy-loosened",
    ],
)
def test_each_change_names_its_risks(change: Change, expected: list[tuple[str, str]]) -> None:
    assert change_risks(change) == [Risk(change.address, r, d) for r, d in expected]
