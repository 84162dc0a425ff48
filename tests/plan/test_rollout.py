"""Soft-to-hard rollout decisions in the planner, from synthetic facts (now is a fact)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from certgov.diff import DiffEntry
from certgov.plan import Facts, PlanOptions, plan
from certgov.plan.rollout import RolloutDecision, RolloutFacts
from certgov.state import State
from tests.plan.helpers import policy, with_meta

NOW = datetime(2026, 6, 15, tzinfo=UTC)
ROLLOUT = {
    "start": "soft",
    "promote_after_seconds": 14 * 86400,
    "max_warnings": 0,
    "min_requests": 20,
}
KEY_RULE = {"action": "enforce_minimum_key_size", "fail": "hard", "values": {"minimum_bits": 3072}}


def desired(**rollout: object) -> State:
    p = policy("base", rules=[KEY_RULE, {"action": "block_ca_flag", "fail": "hard"}])
    return State.build([with_meta(p, rollout={"enforce_minimum_key_size": {**ROLLOUT, **rollout}})])


def live(fail: str, bits: str = "3072") -> State:
    rule = {**KEY_RULE, "fail": fail, "values": {"minimum_bits": bits}}
    return State.build(
        [policy("base", live=True, rules=[rule, {"action": "block_ca_flag", "fail": "hard"}])]
    )


def facts(days: int, requests: int, warnings: int, offenders: tuple[str, ...] = ()) -> Facts:
    fact = RolloutFacts(NOW - timedelta(days=days), requests, warnings, offenders)
    return Facts(now=NOW, rollout={("base", "enforce_minimum_key_size"): fact})


def test_a_new_policy_is_created_with_the_rule_soft() -> None:
    result = plan(desired(), State.build([]), Facts(now=NOW), PlanOptions())
    (change,) = result.changes
    assert change.action == "create"
    assert change.after is not None
    assert change.after["rules"] == [
        {"action": "block_ca_flag", "fail": "hard"},
        {"action": "enforce_minimum_key_size", "fail": "soft", "values": {"minimum_bits": "3072"}},
    ]
    assert result.rollouts == (
        RolloutDecision(
            "base", "enforce_minimum_key_size", "pending", "will be rolled out soft first"
        ),
    )


def test_a_soft_rule_holds_until_its_time_has_come() -> None:
    result = plan(desired(), live("soft"), facts(9, 31, 0), PlanOptions())
    assert result.changes == ()
    assert result.rollouts == (
        RolloutDecision(
            "base",
            "enforce_minimum_key_size",
            "hold",
            "9 of 14 days, 31 of 20 requests, 0 warnings",
            (NOW - timedelta(days=9)).isoformat(),
            9,
            31,
            0,
        ),
    )


def test_a_soft_rule_holds_until_enough_requests_were_seen() -> None:
    result = plan(desired(), live("soft"), facts(20, 5, 0), PlanOptions())
    assert result.changes == ()
    assert result.rollouts[0].state == "hold"
    assert result.rollouts[0].detail == "14 of 14 days, 5 of 20 requests, 0 warnings"


def test_too_many_warnings_block_the_promotion_and_name_the_requesters() -> None:
    result = plan(
        desired(),
        live("soft"),
        facts(30, 40, 2, ("ci-build: a.example.com", "web: b.example.com")),
        PlanOptions(),
    )
    assert result.changes == ()
    (decision,) = result.rollouts
    assert decision.state == "blocked"
    assert decision.detail == "2 warnings, at most 0 allowed: fix the requesters first"
    assert decision.offenders == ("ci-build: a.example.com", "web: b.example.com")


def test_an_earned_promotion_is_a_promote_change_with_evidence() -> None:
    result = plan(desired(), live("soft"), facts(15, 25, 0), PlanOptions())
    (change,) = result.changes
    assert change.action == "promote"
    assert change.diff == (DiffEntry("rules.enforce_minimum_key_size.fail", "soft", "hard"),)
    assert change.evidence == {
        "enforce_minimum_key_size": {
            "policy": "base",
            "rule": "enforce_minimum_key_size",
            "declared": "hard",
            "applied": "hard",
            "state": "promote",
            "detail": "soft for 15 days, 25 requests, 0 warnings",
            "soft_since": (NOW - timedelta(days=15)).isoformat(),
            "days": 15,
            "requests": 25,
            "warnings": 0,
            "offenders": [],
        }
    }


def test_a_promotion_together_with_another_change_is_an_update_with_evidence() -> None:
    state = desired()
    (p,) = state
    changed = State.build(
        [
            with_meta(
                policy(
                    "base",
                    description="new",
                    rules=[KEY_RULE, {"action": "block_ca_flag", "fail": "hard"}],
                ),
                **p.meta,
            )
        ]
    )
    (change,) = plan(changed, live("soft"), facts(15, 25, 0), PlanOptions()).changes
    assert change.action == "update"
    assert change.evidence is not None
    assert [d.path for d in change.diff] == ["description", "rules.enforce_minimum_key_size.fail"]


def test_a_promoted_rule_stays_hard() -> None:
    result = plan(desired(), live("hard"), Facts(now=NOW), PlanOptions())
    assert result.changes == ()
    assert result.rollouts[0].state == "promoted"


def test_a_changed_declaration_restarts_the_clock_soft() -> None:
    result = plan(desired(), live("hard", bits="2048"), facts(30, 100, 0), PlanOptions())
    (change,) = result.changes
    assert change.action == "update"
    assert change.diff == (
        DiffEntry("rules.enforce_minimum_key_size.fail", "hard", "soft"),
        DiffEntry("rules.enforce_minimum_key_size.values.minimum_bits", "2048", "3072"),
    )
    assert result.rollouts[0].state == "pending"


def test_without_audit_facts_a_soft_rule_holds() -> None:
    result = plan(desired(), live("soft"), Facts(now=NOW), PlanOptions())
    assert result.changes == ()
    assert result.rollouts[0].detail == "no audit evidence: the audit log was not read or is empty"


def test_rules_without_rollout_keep_their_declared_fail() -> None:
    p = policy("base", rules=[KEY_RULE])
    result = plan(State.build([p]), State.build([]), Facts(now=NOW), PlanOptions())
    assert result.changes[0].after["rules"][0]["fail"] == "hard"  # type: ignore[index]
    assert result.rollouts == ()
