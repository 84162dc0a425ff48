"""The planner's inputs and outputs: facts, options, changes and the plan. No I/O."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from certgov.diff import DiffEntry

if TYPE_CHECKING:
    from certgov.plan.rollout import GateFacts, RolloutDecision, RolloutFacts

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
    audit log says of that soft rule. `own_account` is the uuid of the account this run is
    logged in as: the plan never saws off the branch it sits on. `gate` is what the environment
    this one's rollouts wait for (`rollout.after`) says of them.
    """

    now: datetime
    store_records: Mapping[str, StoreRecordMeta | None] = field(default_factory=dict)
    rollout: Mapping[tuple[str, str], RolloutFacts] = field(default_factory=dict)
    own_account: str | None = None
    gate: GateFacts | None = None


@dataclass(frozen=True)
class KindOptions:
    prune: Prune = False
    ignore: tuple[str, ...] = ()
    delete_after: timedelta = timedelta(days=7)


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
class Observed:
    """What plan saw of a live object: apply refuses the plan when its digest changed."""

    id: Any
    etag: str | None
    digest: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "etag": self.etag, "digest": self.digest}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Observed:
        return cls(data["id"], data["etag"], str(data["digest"]))


@dataclass(frozen=True)
class SecretTarget:
    """Where a generated secret goes; never the secret."""

    store: str
    path: str

    def to_json(self) -> dict[str, Any]:
        return {"store": self.store, "path": self.path}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SecretTarget:
        return cls(str(data["store"]), str(data["path"]))


@dataclass(frozen=True)
class TestReport:
    """The dry-run results of a changed policy's tests."""

    __test__ = False  # not a pytest class

    passed: int
    failed: int
    results: tuple[Mapping[str, Any], ...] = ()
    probe: bool = False
    """No test is declared: the one result is a plain request the server accepted."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "passed": self.passed,
            "failed": self.failed,
            "results": [dict(r) for r in self.results],
        }
        if self.probe:
            out["probe"] = True
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TestReport:
        return cls(
            int(data["passed"]),
            int(data["failed"]),
            tuple(data.get("results") or ()),
            bool(data.get("probe", False)),
        )


@dataclass(frozen=True)
class Disagreement:
    """A sampled request on which the server's dry run and certgov's engine differ."""

    request: str
    engine: str
    server: str

    def to_json(self) -> dict[str, str]:
        return {"request": self.request, "engine": self.engine, "server": self.server}


@dataclass(frozen=True)
class Backtest:
    """What recent certificate requests a changed policy would newly warn about or block.

    The engine evaluates every request; `sampled` of them were confirmed by the server's dry
    run. With `disagreements`, the counts are the server's, over the sample only. `skipped`
    says why no back-test ran; then the counts are absent.
    """

    days: int = 0
    requests: int = 0
    newly_warn: int = 0
    newly_block: int = 0
    examples: tuple[str, ...] = ()
    sampled: int = 0
    disagreements: tuple[Disagreement, ...] = ()
    skipped: str | None = None

    def to_json(self) -> dict[str, Any]:
        if self.skipped is not None:
            return {"skipped": self.skipped}
        return {
            "days": self.days,
            "requests": self.requests,
            "newly_warn": self.newly_warn,
            "newly_block": self.newly_block,
            "examples": list(self.examples),
            "sampled": self.sampled,
            "disagreements": [d.to_json() for d in self.disagreements],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Backtest:
        if "skipped" in data:
            return cls(skipped=str(data["skipped"]))
        return cls(
            days=int(data["days"]),
            requests=int(data["requests"]),
            newly_warn=int(data["newly_warn"]),
            newly_block=int(data["newly_block"]),
            examples=tuple(data.get("examples") or ()),
            sampled=int(data.get("sampled", 0)),
            disagreements=tuple(Disagreement(**d) for d in data.get("disagreements") or ()),
        )


def _optional(value: Any, build: Any) -> Any:
    return None if value is None else build(value)


@dataclass(frozen=True)
class Change:
    """One difference between desired and live, and what apply will do about it.

    The planner decides `action` … `evidence`; plan adds the dry-run `tests` and the `backtest`
    before the document is built.
    """

    action: Action
    kind: str
    name: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    diff: tuple[DiffEntry, ...] = ()
    reason: str = ""
    observed: Observed | None = None
    source: Mapping[str, Any] | None = None
    secret: SecretTarget | None = None
    steps: tuple[str, ...] = ()
    evidence: Mapping[str, Any] | None = None
    tests: TestReport | None = None
    backtest: Backtest | None = None
    missing_secret: bool = False
    """A rotation only because the store holds no record of the account's secret."""
    never_used: bool = False
    """A rotation of an account no one has ever logged in as: the new secret cuts no one off."""

    @property
    def address(self) -> str:
        return f"{self.kind}/{self.name}"

    def sort_key(self) -> tuple[str, str, int]:
        return (self.kind, self.name, ACTION_ORDER.index(self.action))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "address": self.address,
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "before": self.before,
            "after": self.after,
            "diff": [d.to_json() for d in self.diff],
            "reason": self.reason,
            "observed": _optional(self.observed, Observed.to_json),
            "source": self.source,
            "secret": _optional(self.secret, SecretTarget.to_json),
            "steps": list(self.steps),
        }
        if self.evidence:
            out["evidence"] = dict(self.evidence)
        if self.tests is not None:
            out["tests"] = self.tests.to_json()
        if self.backtest is not None:
            out["backtest"] = self.backtest.to_json()
        if self.missing_secret:
            out["missing_secret"] = True
        if self.never_used:
            out["never_used"] = True
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Change:
        return cls(
            action=data["action"],
            kind=str(data["kind"]),
            name=str(data["name"]),
            before=data["before"],
            after=data["after"],
            diff=tuple(DiffEntry.from_json(d) for d in data["diff"]),
            reason=str(data["reason"]),
            observed=_optional(data["observed"], Observed.from_json),
            source=data["source"],
            secret=_optional(data["secret"], SecretTarget.from_json),
            steps=tuple(data["steps"]),
            evidence=data.get("evidence"),
            tests=_optional(data.get("tests"), TestReport.from_json),
            backtest=_optional(data.get("backtest"), Backtest.from_json),
            missing_secret=bool(data.get("missing_secret", False)),
            never_used=bool(data.get("never_used", False)),
        )


OWN_ACCOUNT, DECLARED_BUT_IGNORED, DELETE_GRACE = (
    "own-account",
    "declared-but-ignored",
    "delete-grace",
)


@dataclass(frozen=True)
class Held:
    """Something the plan deliberately does not do, and why; `action` is what it would have been
    (None for a declared object that `manage.<kind>.ignore` keeps out of the plan)."""

    address: str
    action: str | None
    hold: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "action": self.action,
            "hold": self.hold,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Held:
        return cls(str(data["address"]), data["action"], str(data["hold"]), str(data["reason"]))


@dataclass(frozen=True)
class Plan:
    """The planner's answer: changes in a stable order plus what was left alone."""

    changes: tuple[Change, ...]
    unchanged: int
    ignored: tuple[str, ...]
    unmanaged: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    rollouts: tuple[RolloutDecision, ...] = ()
    held: tuple[Held, ...] = ()

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
