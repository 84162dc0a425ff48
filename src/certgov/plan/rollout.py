"""Soft-to-hard rollout decisions, from audit-derived facts. Pure: `now` is a fact.

A rule declared `fail: hard` with `rollout` is created or changed as `soft`; it becomes `hard`
once it has been soft in the live policy for `promote_after`, at least `min_requests` matching
certificate requests were seen in that time, and at most `max_warnings` of them violated it.
In an environment whose rollouts wait for another (`rollout.after`), it also needs the same rule
(same policy name, same action) to have been hard there for `promote_after`, by that
environment's clock (`GateFacts`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from certgov.state import Resource, rule_sort_key

PENDING, HOLD, BLOCKED, PROMOTE, PROMOTED = "pending", "hold", "blocked", "promote", "promoted"


@dataclass(frozen=True)
class RolloutFacts:
    """What the audit log says of one soft rule since it (as declared now) became soft."""

    soft_since: datetime
    requests: int
    warnings: int
    offenders: tuple[str, ...] = ()


@dataclass(frozen=True)
class GateFacts:
    """What the environment rollouts wait for says of them: since when each rule (policy name,
    action) has been hard there, and its clock; or why it could not be read."""

    environment: str
    now: datetime | None = None
    hard_since: Mapping[tuple[str, str], datetime | None] = field(default_factory=dict)
    """Rules hard there now, each with when it became hard (None: the audit log does not say);
    rules that are not hard there are absent."""
    unreadable: str | None = None


@dataclass(frozen=True)
class RolloutDecision:
    policy: str
    rule: str
    state: str
    detail: str
    soft_since: str | None = None
    days: int | None = None
    requests: int | None = None
    warnings: int | None = None
    offenders: tuple[str, ...] = ()
    gate: str | None = None
    """With `rollout.after`: what the other environment says of this rule."""

    @property
    def applied(self) -> str:
        """The strength this plan leaves the rule at (it is declared hard)."""
        return "hard" if self.state in (PROMOTE, PROMOTED) else "soft"

    def to_json(self) -> dict[str, Any]:
        gate = {} if self.gate is None else {"gate": self.gate}
        return {
            **gate,
            "policy": self.policy,
            "rule": self.rule,
            "declared": "hard",
            "applied": self.applied,
            "state": self.state,
            "detail": self.detail,
            "soft_since": self.soft_since,
            "days": self.days,
            "requests": self.requests,
            "warnings": self.warnings,
            "offenders": list(self.offenders),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RolloutDecision:
        derived = ("declared", "applied")
        fields = {k: v for k, v in data.items() if k not in derived}
        return cls(**{**fields, "offenders": tuple(data["offenders"])})


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _live_rule(live: Resource | None, action: str) -> Mapping[str, Any] | None:
    if live is None:
        return None
    rules: Sequence[Mapping[str, Any]] = live.spec["rules"]
    return next((rule for rule in rules if rule["action"] == action), None)


def decide(
    desired: Resource,
    live: Resource | None,
    facts: Mapping[tuple[str, str], RolloutFacts],
    now: datetime,
    gate: GateFacts | None = None,
) -> list[RolloutDecision]:
    """One decision per rollout rule of `desired` (a policy); with `gate`, a rule is promoted
    only once it has been hard in the environment rollouts wait for."""
    settings: Mapping[str, Mapping[str, Any]] = desired.meta.get("rollout") or {}
    decisions = []
    for rule in desired.spec["rules"]:
        action = rule["action"]
        config = settings.get(action)
        if config is None or rule["fail"] != "hard" or config.get("start", "soft") != "soft":
            continue
        current = _live_rule(live, action)
        same = current is not None and current.get("values") == rule.get("values")
        if not same:
            decisions.append(
                RolloutDecision(desired.name, action, PENDING, "will be rolled out soft first")
            )
            continue
        assert current is not None
        if current["fail"] == "hard":
            decisions.append(RolloutDecision(desired.name, action, PROMOTED, "enforced (hard)"))
            continue
        fact = facts.get((desired.name, action))
        decision = _decide_soft(desired.name, action, config, fact, now)
        decisions.append(_gated(decision, config, gate) if gate else decision)
    return decisions


def _gated(
    decision: RolloutDecision, config: Mapping[str, Any], gate: GateFacts
) -> RolloutDecision:
    """A soft rule's decision, held unless the same rule has been hard in `gate`'s environment
    for promote_after."""
    if decision.state not in (HOLD, PROMOTE):
        return decision
    env = gate.environment
    wait = timedelta(seconds=int(config["promote_after_seconds"]))
    since = gate.hard_since.get((decision.policy, decision.rule))
    passed = False
    if gate.unreadable is not None:
        said = f"{env} could not be read ({gate.unreadable})"
    elif (decision.policy, decision.rule) not in gate.hard_since:
        said = f"not hard in {env} yet"
    elif since is None or gate.now is None:
        said = f"hard in {env}, but its audit log does not say since when"
    else:
        elapsed = gate.now - since
        passed = elapsed >= wait
        said = f"hard in {env} for {elapsed.days} " + (
            f"days (since {since.date()})" if passed else f"of {wait.days} days"
        )
    if passed:
        return replace(decision, detail=f"{decision.detail}; {said}", gate=said)
    if decision.state == PROMOTE:
        return replace(
            decision,
            state=HOLD,
            detail=f"ready here ({decision.detail}); waits for {env}: {said}",
            gate=said,
        )
    return replace(decision, detail=f"{decision.detail}; waits for {env}: {said}", gate=said)


def _decide_soft(
    policy: str,
    action: str,
    config: Mapping[str, Any],
    fact: RolloutFacts | None,
    now: datetime,
) -> RolloutDecision:
    if fact is None:
        return RolloutDecision(
            policy, action, HOLD, "no audit evidence: the audit log was not read or is empty"
        )
    wait = timedelta(seconds=int(config["promote_after_seconds"]))
    elapsed = now - fact.soft_since
    days = elapsed.days
    need_days = wait.days
    min_requests = int(config["min_requests"])
    max_warnings = int(config["max_warnings"])
    common: dict[str, Any] = {
        "soft_since": fact.soft_since.isoformat(),
        "days": days,
        "requests": fact.requests,
        "warnings": fact.warnings,
    }
    if fact.warnings > max_warnings:
        return RolloutDecision(
            policy,
            action,
            BLOCKED,
            f"{_count(fact.warnings, 'warning')}, at most {max_warnings} allowed: "
            "fix the requesters first",
            offenders=fact.offenders,
            **common,
        )
    if elapsed >= wait and fact.requests >= min_requests:
        return RolloutDecision(
            policy,
            action,
            PROMOTE,
            f"soft for {_count(days, 'day')}, {_count(fact.requests, 'request')}, "
            f"{_count(fact.warnings, 'warning')}",
            **common,
        )
    return RolloutDecision(
        policy,
        action,
        HOLD,
        f"{min(days, need_days)} of {need_days} days, {fact.requests} of {min_requests} "
        f"requests, {_count(fact.warnings, 'warning')}",
        **common,
    )


def effective_spec(
    desired: Resource, decisions: Sequence[RolloutDecision], *, promote: bool
) -> dict[str, Any]:
    """The desired spec with each rollout rule's `fail` as the decisions say.

    With `promote=False`, rules ready for promotion stay soft (to tell a pure promotion apart
    from other changes).
    """
    hard = {d.rule for d in decisions if d.state == PROMOTED or (promote and d.state == PROMOTE)}
    soft = {d.rule for d in decisions} - hard
    rules = [
        {**rule, "fail": "soft"} if rule["action"] in soft else dict(rule)
        for rule in desired.spec["rules"]
    ]
    return {**desired.spec, "rules": sorted(rules, key=rule_sort_key)}
