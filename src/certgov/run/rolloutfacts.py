"""Rollout facts from the audit log: since when each rollout rule has been soft in its live
policy, and what certificate requests matched the policy since then; and, read from the
environment rollouts wait for (`rollout.after`), since when the same rules have been hard there.

These are fetched before planning and handed to the pure planner as `Facts.rollout` and
`Facts.gate`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from certgov.plan.rollout import GateFacts, RolloutFacts
from certgov.state import POLICY, State, normalise_rule

if TYPE_CHECKING:
    from certgov.client import ClmClient

POLICY_CHANGES = ("policy.created", "policy.updated")


def _rule_state(policy: Mapping[str, Any] | None, rule: Mapping[str, Any]) -> str | None:
    """`soft` when the policy holds the rule soft with the declared values, else None."""
    if not policy:
        return None
    for candidate in policy.get("rules") or ():
        normal = normalise_rule(candidate)
        if normal["action"] == rule["action"] and normal.get("values") == rule.get("values"):
            return str(normal["fail"])
    return None


def _fail(policy: Mapping[str, Any] | None, action: str) -> str | None:
    """How the policy's rule of this action fails (whatever its values), None without one."""
    for candidate in (policy or {}).get("rules") or ():
        if candidate.get("action") == action:
            return str(normalise_rule(candidate)["fail"])
    return None


def _since(
    events: Iterable[Mapping[str, Any]], holds: Callable[[Mapping[str, Any] | None], bool]
) -> datetime | None:
    """When the policy last came to a state that `holds`, and stayed in it, from its events."""
    since: datetime | None = None
    for event in sorted(events, key=lambda e: (e["occurred_at"], e["id"])):
        if holds((event.get("details") or {}).get("after")):
            if since is None:
                since = datetime.fromisoformat(event["occurred_at"])
        else:
            since = None
    return since


def soft_since(events: Iterable[Mapping[str, Any]], rule: Mapping[str, Any]) -> datetime | None:
    """When the rule last became soft (with these values) and stayed so, from policy events."""
    return _since(events, lambda after: _rule_state(after, rule) == "soft")


def hard_since(events: Iterable[Mapping[str, Any]], action: str) -> datetime | None:
    """When the rule of this action last became hard and stayed so, from policy events."""
    return _since(events, lambda after: _fail(after, action) == "hard")


def _policy_changes(client: ClmClient, policy_id: Any) -> list[dict[str, Any]]:
    return [e for e in client.audit_events(policy_id=policy_id) if e.get("type") in POLICY_CHANGES]


def soft_rules(desired: State, live: State) -> list[tuple[str, str]]:
    """The rollout rules (policy name, action) that are soft in their live policy, as declared:
    the ones a promotion could make hard."""
    found = []
    for resource in desired.of_kind(POLICY):
        current = live.get(POLICY, resource.name)
        for action in resource.meta.get("rollout") or {}:
            rule = next(r for r in resource.spec["rules"] if r["action"] == action)
            if current is not None and _rule_state(current.spec, rule) == "soft":
                found.append((resource.name, action))
    return found


def gather_gate(
    client: ClmClient, environment: str, rules: Iterable[tuple[str, str]], now: datetime
) -> GateFacts:
    """Since when each of `rules` (policy name, action) has been hard in `client`'s tenant."""
    from certgov.client import read_live_state

    live = read_live_state(client, kinds=(POLICY,))
    hard: dict[tuple[str, str], datetime | None] = {}
    for name, action in rules:
        policy = live.get(POLICY, name)
        if policy is not None and _fail(policy.spec, action) == "hard":
            hard[(name, action)] = hard_since(_policy_changes(client, policy.meta["id"]), action)
    return GateFacts(environment, now, hard)


def _matched(event: Mapping[str, Any], policy_id: Any, policy_name: str) -> bool:
    details = event.get("details") or {}
    matched = details.get("matched_policies")
    if matched is not None:
        return any(str(m.get("id")) == str(policy_id) for m in matched)
    return any(v.get("policy") == policy_name for v in details.get("violations") or ())


def tally(
    requests: Sequence[Mapping[str, Any]],
    policy_id: Any,
    policy_name: str,
    rule_action: str,
    since: datetime,
) -> RolloutFacts:
    """Requests matching the policy since `since`, and those that violated the rule."""
    seen = warned = 0
    offenders: list[str] = []
    for event in requests:
        if datetime.fromisoformat(event["occurred_at"]) < since:
            continue
        if not _matched(event, policy_id, policy_name):
            continue
        seen += 1
        details = event.get("details") or {}
        hits = [
            v
            for v in details.get("violations") or ()
            if v.get("policy") == policy_name and v.get("rule") == rule_action
        ]
        if hits:
            warned += 1
            request = details.get("request") or {}
            who = (event.get("actor") or {}).get("name") or "unknown"
            offenders.append(f"{who}: {request.get('common_name') or '(no CN)'}")
    return RolloutFacts(since, seen, warned, tuple(sorted(set(offenders))))


def gather(client: ClmClient, desired: State, live: State) -> dict[tuple[str, str], RolloutFacts]:
    """Facts for every rollout rule that is soft in its live policy."""
    wanted: list[tuple[str, Any, Mapping[str, Any]]] = []
    for resource in desired.of_kind(POLICY):
        rollout = resource.meta.get("rollout") or {}
        current = live.get(POLICY, resource.name)
        if not rollout or current is None:
            continue
        for rule in resource.spec["rules"]:
            if rule["action"] in rollout:
                wanted.append((resource.name, current.meta.get("id"), rule))
    if not wanted:
        return {}
    starts: dict[tuple[str, str], datetime] = {}
    history: dict[Any, list[dict[str, Any]]] = {}  # each policy's changes, read once
    for name, policy_id, rule in wanted:
        if policy_id not in history:
            history[policy_id] = _policy_changes(client, policy_id)
        since = soft_since(history[policy_id], rule)
        if since is not None:
            starts[(name, rule["action"])] = since
    if not starts:
        return {}
    requests = client.audit_events(
        type="certificate.requested", since=min(starts.values()).isoformat()
    )
    ids = {name: policy_id for name, policy_id, _ in wanted}
    return {
        (name, action): tally(requests, ids[name], name, action, since)
        for (name, action), since in starts.items()
    }
