"""The promotion gate of `rollout: {after: staging}`: a rule is promoted only once the same rule
has been hard in staging for promote_after, by staging's clock, and its own conditions hold."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from certgov.plan import PlanOptions, plan
from certgov.plan.rollout import GateFacts, RolloutDecision
from tests.plan.test_rollout import NOW, desired, facts, live

RULE = ("base", "enforce_minimum_key_size")
# Staging's clock is not production's: the gate measures with staging's.
STAGING_NOW = NOW + timedelta(days=3)


def gate(hard_for_days: int | None = None, unreadable: str | None = None) -> GateFacts:
    hard = {} if hard_for_days is None else {RULE: STAGING_NOW - timedelta(days=hard_for_days)}
    return GateFacts("staging", STAGING_NOW, hard, unreadable)


def decide(staging: GateFacts, days: int = 15, requests: int = 25) -> RolloutDecision:
    result = plan(
        desired(), live("soft"), replace(facts(days, requests, 0), gate=staging), PlanOptions()
    )
    (decision,) = result.rollouts
    assert result.changes == () or decision.state == "promote"
    return decision


def test_a_ready_rule_holds_while_it_is_not_hard_in_staging() -> None:
    decision = decide(gate())
    assert (decision.state, decision.detail, decision.gate) == (
        "hold",
        "ready here (soft for 15 days, 25 requests, 0 warnings); waits for staging: not hard in"
        " staging yet",
        "not hard in staging yet",
    )


def test_a_ready_rule_holds_until_it_has_been_hard_in_staging_for_promote_after() -> None:
    decision = decide(gate(hard_for_days=13))
    assert (decision.state, decision.detail) == (
        "hold",
        "ready here (soft for 15 days, 25 requests, 0 warnings); waits for staging: hard in"
        " staging for 13 of 14 days",
    )


def test_a_ready_rule_is_promoted_once_staging_has_held_it_hard_long_enough() -> None:
    result = plan(desired(), live("soft"), replace(facts(15, 25, 0), gate=gate(14)), PlanOptions())
    (change,) = result.changes
    assert change.action == "promote"
    assert change.evidence is not None
    assert change.evidence["enforce_minimum_key_size"]["gate"] == (
        f"hard in staging for 14 days (since {(STAGING_NOW - timedelta(days=14)).date()})"
    )


def test_production_s_own_conditions_still_hold_a_rule_staging_has_promoted() -> None:
    decision = decide(gate(hard_for_days=30), days=5)
    assert (decision.state, decision.detail) == (
        "hold",
        "5 of 14 days, 25 of 20 requests, 0 warnings; hard in staging for 30 days (since "
        f"{(STAGING_NOW - timedelta(days=30)).date()})",
    )


def test_when_staging_could_not_be_read_nothing_is_promoted_and_the_decision_says_why() -> None:
    decision = decide(gate(unreadable="no credentials: pass --credentials FILE, or set …"))
    assert (decision.state, decision.detail) == (
        "hold",
        "ready here (soft for 15 days, 25 requests, 0 warnings); waits for staging: staging could"
        " not be read (no credentials: pass --credentials FILE, or set …)",
    )


def test_staging_s_audit_log_must_say_since_when_the_rule_is_hard() -> None:
    staging = GateFacts("staging", STAGING_NOW, {RULE: None})
    assert decide(staging).detail.endswith(
        "waits for staging: hard in staging, but its audit log does not say since when"
    )


def test_the_gate_leaves_a_promoted_rule_alone() -> None:
    result = plan(desired(), live("hard"), replace(facts(1, 1, 0), gate=gate()), PlanOptions())
    assert (result.changes, result.rollouts[0].state, result.rollouts[0].gate) == (
        (),
        "promoted",
        None,
    )


def test_a_decision_without_a_gate_has_no_gate_in_its_json() -> None:
    decision = decide(gate(14))
    assert "gate" in decision.to_json()
    assert "gate" not in replace(decision, gate=None).to_json()
    assert RolloutDecision.from_json(decision.to_json()) == decision
