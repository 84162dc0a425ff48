"""Drift's pure parts: pending changes between two declaration states, and account hygiene."""

from __future__ import annotations

from datetime import UTC, datetime

from certgov.run.drift import DriftReport, Finding, account_hygiene, pending_changes
from certgov.state import State
from tests.plan.helpers import SECRET, account, policy, with_meta

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_pending_lists_added_removed_and_changed_declarations() -> None:
    head = State.build(
        [
            account("a", description="new"),
            account("b"),
            with_meta(policy("p"), tests=[{"name": "t", "source": {"line": 9}}]),
        ]
    )
    applied = State.build(
        [
            account("a"),
            account("gone"),
            with_meta(policy("p"), tests=[{"name": "t", "source": {"line": 3}}]),
        ]
    )
    # Policy/p moved in its file (its test's source line) but says the same: not pending.
    assert pending_changes(head, applied) == [
        {
            "address": "ServiceAccount/a",
            "change": "changed",
            "diff": [{"path": "description", "before": "", "after": "new"}],
        },
        {"address": "ServiceAccount/b", "change": "added", "diff": []},
        {"address": "ServiceAccount/gone", "change": "removed", "diff": []},
    ]


def test_account_hygiene_finds_expiry_unused_and_old_secrets() -> None:
    live = State.build(
        [
            with_meta(
                account("soon", live=True, expires_at="2026-06-10T00:00:00+00:00"),
                last_used_at="2026-05-30T00:00:00+00:00",
                created_at="2026-01-01T00:00:00+00:00",
            ),
            with_meta(
                account("idle", live=True),
                last_used_at="2026-01-01T00:00:00+00:00",
                created_at="2025-01-01T00:00:00+00:00",
            ),
            with_meta(
                account("never", live=True),
                last_used_at=None,
                created_at="2025-06-01T00:00:00+00:00",
            ),
            with_meta(
                account("old", live=True),
                last_used_at="2026-05-31T00:00:00+00:00",
                created_at="2026-05-01T00:00:00+00:00",
                secret_created_at="2025-12-01T00:00:00+00:00",
            ),
            with_meta(
                account("off", live=True, is_active=False),
                last_used_at=None,
                created_at="2020-01-01T00:00:00+00:00",
            ),
        ]
    )
    desired = State.build(
        [account("old", meta={"secret": {**SECRET, "rotate_after_seconds": 90 * 86400}})]
    )
    assert account_hygiene(desired, live, NOW) == [
        Finding("note", "unused", "ServiceAccount/idle", "not used since 2026-01-01: disable it?"),
        Finding("note", "unused", "ServiceAccount/never", "not used ever: disable it?"),
        Finding(
            "warning",
            "old-secret",
            "ServiceAccount/old",
            "secret is 182 days old, rotate_after is 90 days: run plan and apply to rotate it",
        ),
        Finding("warning", "expiring", "ServiceAccount/soon", "expires in 9 days"),
    ]


def test_drift_exit_codes_add_up() -> None:
    finding = Finding("warning", "expiring", "x", "y")
    assert DriftReport("r").exit_code(None) == 0
    assert DriftReport("r", pending=[{}]).exit_code(None) == 2
    assert DriftReport("r", out_of_band=[{}]).exit_code(None) == 4
    assert DriftReport("r", pending=[{}], out_of_band=[{}]).exit_code(None) == 6
    assert DriftReport("r", hygiene=[finding]).exit_code("warning") == 8
    assert DriftReport("r", hygiene=[finding]).exit_code("error") == 0
    assert DriftReport("r", pending=[{}], hygiene=[finding]).exit_code("note") == 10


def test_pending_names_a_changed_rule_by_its_action_and_ignores_rule_order() -> None:
    rules = [
        {"action": "enforce_max_validity", "fail": "hard", "values": {"max_days": 30}},
        {"action": "block_ca_flag", "fail": "hard"},
    ]
    raised = [{**rules[0], "values": {"max_days": 200}}, rules[1]]
    applied = State.build([policy("p", rules=rules)])
    assert pending_changes(State.build([policy("p", rules=list(reversed(rules)))]), applied) == []
    assert pending_changes(State.build([policy("p", rules=raised)]), applied) == [
        {
            "address": "Policy/p",
            "change": "changed",
            "diff": [
                {
                    "path": "rules.enforce_max_validity.values.max_days",
                    "before": "30",
                    "after": "200",
                }
            ],
        }
    ]
