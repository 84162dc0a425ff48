"""Rollout facts from the audit log: since when each rollout rule has been soft in its live
policy, and what certificate requests matched the policy since then.

These are fetched before planning and handed to the pure planner as `Facts.rollout`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from certgov.plan.rollout import RolloutFacts
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


def soft_since(events: Iterable[Mapping[str, Any]], rule: Mapping[str, Any]) -> datetime | None:
    """When the rule last became soft (with these values) and stayed so, from policy events."""
    since: datetime | None = None
    for event in sorted(events, key=lambda e: (e["occurred_at"], e["id"])):
        after = (event.get("details") or {}).get("after")
        if _rule_state(after, rule) == "soft":
            if since is None:
                since = datetime.fromisoformat(event["occurred_at"])
        else:
            since = None
    return since


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
            history[policy_id] = [
                e
                for e in client.audit_events(policy_id=policy_id)
                if e.get("type") in POLICY_CHANGES
            ]
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
