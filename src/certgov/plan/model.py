"""The planner's inputs and outputs: facts, options, changes and the plan. No I/O."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from certgov.plan.rollout import RolloutDecision, RolloutFacts

Action = Literal["rename", "create", "update", "enable", "rotate", "promote", "disable", "delete"]

# Apply order: renames free names that creates may reuse; disables come before deletes.
ACTION_ORDER: tuple[str, ...] = (
    "rename",
    "create",
    "update",
    "enable",
    "rotate",
    "promote",
    "disable",
    "delete",
)
Prune = Literal[False, "disable", "delete"]


def canonical_json(value: Any) -> str:
    """The one serialisation that digests and fingerprints are taken over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(value: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(value).encode()).hexdigest()


@dataclass(frozen=True)
class StoreRecordMeta:
    """What plan may know of a stored secret: never the secret itself."""

    client_id: str
    secret_created_at: str | None


@dataclass(frozen=True)
class Facts:
    """Everything the planner needs from outside, fetched beforehand.

    `store_records` maps a desired account's name to the meta of its store record (None: the
    store has none). Accounts missing from the mapping were not looked up, so no rotation is
    decided for them from the store. `rollout` maps (policy name, rule action) to what the
    audit log says of that soft rule.
    """

    now: datetime
    store_records: Mapping[str, StoreRecordMeta | None] = field(default_factory=dict)
    rollout: Mapping[tuple[str, str], RolloutFacts] = field(default_factory=dict)


@dataclass(frozen=True)
class KindOptions:
    prune: Prune = False
    ignore: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlanOptions:
    manage: Mapping[str, KindOptions] = field(default_factory=dict)
    max_changes_fraction: float = 0.3
    min_objects: int = 10
    allow_mass_change: bool = False
    targets: tuple[str, ...] = ()
    only_actions: tuple[str, ...] = ()

    def kind(self, kind: str) -> KindOptions:
        return self.manage.get(kind, KindOptions())


@dataclass(frozen=True)
class DiffEntry:
    path: str
    before: Any
    after: Any

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class Change:
    """One difference between desired and live, and what apply will do about it."""

    action: Action
    kind: str
    name: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    diff: tuple[DiffEntry, ...] = ()
    reason: str = ""
    observed: Mapping[str, Any] | None = None
    source: Mapping[str, Any] | None = None
    secret: Mapping[str, Any] | None = None
    steps: tuple[str, ...] = ()
    evidence: Mapping[str, Any] | None = None

    @property
    def address(self) -> str:
        return f"{self.kind}/{self.name}"

    def sort_key(self) -> tuple[str, str, int]:
        return (self.kind, self.name, ACTION_ORDER.index(self.action))

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "before": self.before,
            "after": self.after,
            "diff": [d.to_json() for d in self.diff],
            "reason": self.reason,
            "observed": self.observed,
            "source": self.source,
            "secret": self.secret,
            "steps": list(self.steps),
            **({"evidence": dict(self.evidence)} if self.evidence else {}),
        }


@dataclass(frozen=True)
class Plan:
    """The planner's answer: changes in a stable order plus what was left alone."""

    changes: tuple[Change, ...]
    unchanged: int
    ignored: tuple[str, ...]
    unmanaged: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    rollouts: tuple[RolloutDecision, ...] = ()

    def summary(self) -> dict[str, int]:
        counts = dict.fromkeys(ACTION_ORDER, 0)
        for change in self.changes:
            counts[change.action] += 1
        return {
            "create": counts["create"],
            "update": counts["update"],
            "rename": counts["rename"],
            "enable": counts["enable"],
            "disable": counts["disable"],
            "delete": counts["delete"],
            "rotate": counts["rotate"],
            "promote": counts["promote"],
            "unchanged": self.unchanged,
            "ignored": len(self.ignored),
            "unmanaged": len(self.unmanaged),
        }

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)
