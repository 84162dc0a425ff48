"""Policies (contract §4): validation by the shared rule package, every change audited with its
before and after."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from certgov.rules.domains import normalise_pattern
from certgov.rules.engine import PolicyInput
from certgov.rules.validation import DEFAULT_FAIL, normalise_policy_values, policy_problems
from certgov.server import problems
from certgov.server.audit import Actor, AuditRecord, Target
from certgov.server.conditional import check_if_match, etag
from certgov.server.context import iso
from certgov.server.idempotency import Answer
from certgov.server.store import Policy, Tx

PUBLIC_FIELDS: Final = (
    "id",
    "name",
    "description",
    "is_enabled",
    "matching_criteria",
    "rules",
    "created_at",
    "updated_at",
)
SPEC_FIELDS: Final = ("name", "description", "is_enabled", "matching_criteria", "rules")


def problem_details(found: Sequence[tuple[str, str]], prefix: str = "") -> list[dict[str, str]]:
    """(path, message) pairs as the envelope's details; the body itself is `body`."""
    out = []
    for path, message in found:
        field = (
            f"{prefix}.{path}" if prefix and path and not path.startswith("[") else prefix + path
        )
        out.append({"field": field or "body", "message": message})
    return out


def checked(body: Any) -> dict[str, Any]:
    """The stored form of a policy body, or VALIDATION_ERROR naming every problem at once."""
    found = policy_problems(body)
    if found:
        raise problems.validation_error(problem_details(found))
    criteria = body["matching_criteria"]
    rules = []
    for rule in body["rules"]:
        stored: dict[str, Any] = {"action": rule["action"], "fail": rule.get("fail", DEFAULT_FAIL)}
        values = normalise_policy_values(rule.get("values"))
        if values:
            stored["values"] = values
        rules.append(stored)
    domains = list(dict.fromkeys(normalise_pattern(d) for d in criteria["domains"]))
    return {
        "name": body["name"],
        "description": body.get("description", ""),
        "is_enabled": bool(body.get("is_enabled", False)),
        "matching_criteria": {"action": criteria["action"], "domains": domains},
        "rules": rules,
    }


def public(policy: Policy) -> dict[str, Any]:
    return {k: policy[k] for k in PUBLIC_FIELDS}


def policy_etag(policy: Policy) -> str:
    return etag(policy["id"], policy["revision"])


def list_item(policy: Policy) -> dict[str, Any]:
    return {**public(policy), "etag": policy_etag(policy)}


def spec(policy: Policy) -> dict[str, Any]:
    return {k: policy[k] for k in SPEC_FIELDS}


def engine_input(policy: Policy) -> PolicyInput:
    return PolicyInput.from_stored(public(policy))


def target(policy: Policy) -> Target:
    return Target("policy", str(policy["id"]), policy["name"])


def _audit(tx: Tx, kind: str, actor: Actor, policy: Policy, at: str, **details: Any) -> None:
    tx.audit.append(AuditRecord(f"policy.{kind}", actor, target(policy), details=details), at)


def get(tx: Tx, policy_id: int) -> Policy:
    policy = tx.policies.get(policy_id)
    if policy is None:
        raise problems.not_found("policy", str(policy_id))
    return policy


def _get_matching(tx: Tx, policy_id: int, if_match: str | None) -> Policy:
    policy = get(tx, policy_id)
    check_if_match(if_match, policy_etag(policy), lambda: public(policy))
    return policy


def single_answer(policy: Policy, status: int = 200) -> Answer:
    return Answer(status, {"success": True, "data": public(policy)}, {"ETag": policy_etag(policy)})


def create(tx: Tx, actor: Actor, body: Any, now: datetime) -> Policy:
    fields = checked(body)
    stamp = iso(now)
    policy = tx.policies.insert({**fields, "created_at": stamp, "updated_at": stamp, "revision": 1})
    _audit(tx, "created", actor, policy, stamp, after=spec(policy))
    return policy


def replace(
    tx: Tx, actor: Actor, policy_id: int, body: Any, now: datetime, if_match: str | None
) -> Policy:
    """Full replacement: what the body leaves out takes its default (so: disabled)."""
    policy = _get_matching(tx, policy_id, if_match)
    fields = checked(body)
    before = spec(policy)
    if fields == before:
        return policy
    stamp = iso(now)
    updated = tx.policies.update(policy_id, {**fields, "updated_at": stamp})
    _audit(tx, "updated", actor, updated, stamp, before=before, after=spec(updated))
    return updated


def set_enabled(
    tx: Tx, actor: Actor, policy_id: int, enabled: bool, now: datetime, if_match: str | None
) -> Policy:
    policy = _get_matching(tx, policy_id, if_match)
    if policy["is_enabled"] == enabled:
        return policy
    stamp = iso(now)
    updated = tx.policies.update(policy_id, {"is_enabled": enabled, "updated_at": stamp})
    kind = "enabled" if enabled else "disabled"
    _audit(tx, kind, actor, updated, stamp, before=spec(policy), after=spec(updated))
    return updated


def delete(tx: Tx, actor: Actor, policy_id: int, now: datetime, if_match: str | None) -> None:
    policy = _get_matching(tx, policy_id, if_match)
    tx.policies.delete(policy_id)
    _audit(tx, "deleted", actor, policy, iso(now), before=spec(policy))
