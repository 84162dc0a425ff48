"""Soft-to-hard rollout decisions, from audit-derived facts. Pure: `now` is a fact.

A rule declared `fail: hard` with `rollout` is created or changed as `soft`; it becomes `hard`
once it has been soft in the live policy for `promote_after`, at least `min_requests` matching
certificate requests were seen in that time, and at most `max_warnings` of them violated it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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

    @property
    def applied(self) -> str:
        """The strength this plan leaves the rule at (it is declared hard)."""
        return "hard" if self.state in (PROMOTE, PROMOTED) else "soft"

    def to_json(self) -> dict[str, Any]:
        return {
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
) -> list[RolloutDecision]:
    """One decision per rollout rule of `desired` (a policy)."""
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
        decisions.append(_decide_soft(desired.name, action, config, fact, now))
    return decisions


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
