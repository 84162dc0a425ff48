"""Rollout facts read each policy's history once, however many of its rules roll out."""

from __future__ import annotations

from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from certgov.plan.rollout import RolloutFacts
from certgov.run.rolloutfacts import gather
from certgov.state import POLICY, Resource, State

RULES = [
    {"action": "disable_wildcard", "fail": "hard"},
    {"action": "require_san", "fail": "hard"},
]
SOFT = [{**rule, "fail": "soft"} for rule in RULES]
SETTINGS = {"start": "soft", "promote_after_seconds": 86400, "max_warnings": 0, "min_requests": 1}


class AuditLog:
    """The client's audit_events, answering from a list and recording every call."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def audit_events(self, **filters: Any) -> list[dict[str, Any]]:
        self.calls.append(filters)
        if "policy_id" in filters:
            return [
                {
                    "id": 1,
                    "type": "policy.created",
                    "occurred_at": "2026-11-01T00:00:00+00:00",
                    "details": {"after": {"rules": SOFT}},
                }
            ]
        return []


def _policy(rules: list[dict[str, Any]], **meta: Any) -> Resource:
    spec = {"name": "Web", "rules": rules}
    return Resource(POLICY, "Web", spec, MappingProxyType(meta))


def test_two_rollout_rules_of_one_policy_read_its_history_once() -> None:
    desired = State.build([_policy(RULES, rollout={r["action"]: SETTINGS for r in RULES})])
    live = State.build([_policy(SOFT, id=7)])
    log = AuditLog()
    facts = gather(log, desired, live)  # type: ignore[arg-type]
    since = datetime(2026, 11, 1, tzinfo=UTC)
    assert facts == {
        ("Web", "disable_wildcard"): RolloutFacts(since, 0, 0, ()),
        ("Web", "require_san"): RolloutFacts(since, 0, 0, ()),
    }
    assert log.calls == [
        {"policy_id": 7},
        {"type": "certificate.requested", "since": "2026-11-01T00:00:00+00:00"},
    ]
