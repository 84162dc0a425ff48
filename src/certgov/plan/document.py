"""The plan document: the one typed value that renderers read and apply executes.

Built once by `build_document` from everything plan gathered (the planner's changes, the dry-run
test results, the back-test figures), then never changed. Its JSON form (`to_json`, written by
`plan --out`) is described in docs/plan-format.md and schemas/plan.json; `load_plan_file` reads
it back, refusing a file that breaks the schema or whose fingerprints do not match.

The fingerprint is the sha256 of the canonical JSON of everything but itself and `created_at`.
`changes_fingerprint` covers the changes alone, without back-test figures: a plan made again at
the merged commit (another commit id, perhaps another account) has the same changes fingerprint
exactly when it would do the same things, which is what `apply --expect-fingerprint` compares.
Both are computed in `_fingerprints`, and nowhere else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from certgov.errors import PlanFileError, Position
from certgov.plan.model import Backtest, Change, Held, Plan, TestReport, digest
from certgov.plan.risks import Risk, risks
from certgov.plan.rollout import RolloutDecision
from certgov.state import KINDS
from certgov.version import __version__

FORMAT_VERSION = "1"
_UNFINGERPRINTED = ("fingerprint", "created_at")
MAX_DEPTH = 100
"""The deepest nesting a plan file may have; a real plan nests about ten levels."""
_TOO_DEEP = f"plan file is not a certgov plan: its JSON nests deeper than {MAX_DEPTH} levels"


@dataclass(frozen=True)
class PlanSource:
    """The declarations a plan was made from."""

    path: str
    git_commit: str | None
    digest: str

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "git_commit": self.git_commit, "digest": self.digest}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlanSource:
        return cls(str(data["path"]), data.get("git_commit"), str(data["digest"]))


@dataclass(frozen=True)
class Target:
    """What the plan is for: the normalised API base URL and, with environments, which one."""

    url: str | None
    environment: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "environment": self.environment}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Target:
        return cls(data["url"], data["environment"])

    def __str__(self) -> str:
        where = self.url or "(no server)"
        return f"{where} (environment {self.environment})" if self.environment else where


LIVE, SNAPSHOT, NOT_PLANNED = "live", "snapshot", "not planned"


@dataclass(frozen=True)
class Coverage:
    """How one kind was compared: with the live tenant, with a snapshot, or not at all (why).

    `managed` says whether the repository manages the kind (declares objects of it, or prunes
    it): a managed kind that was not planned makes the plan partial.
    """

    compared: str
    reason: str | None = None
    managed: bool = True

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"compared": self.compared, "reason": self.reason}
        if not self.managed:
            out["managed"] = False
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Coverage:
        return cls(str(data["compared"]), data["reason"], bool(data.get("managed", True)))

    @property
    def missing(self) -> bool:
        return self.compared == NOT_PLANNED and self.managed


@dataclass(frozen=True)
class Evidence:
    """One source a rollout decision needs beyond the kinds: this tenant's audit log, or the
    rollouts of the environment named by `rollout.after`; `reason` says why it was not read
    (then no rule is promoted)."""

    read: bool
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"read": self.read, "reason": self.reason}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Evidence:
        return cls(bool(data["read"]), data["reason"])


@dataclass(frozen=True)
class PlanDocument:
    """A plan as reviewed and applied: frozen, fingerprinted, JSON-serialisable both ways."""

    certgov_version: str
    created_at: str
    server: str | None
    target: Target
    source: PlanSource
    coverage: Mapping[str, Coverage]
    summary: Mapping[str, Any]
    risks: tuple[Risk, ...]
    changes: tuple[Change, ...]
    held: tuple[Held, ...]
    unmanaged: tuple[str, ...]
    ignored: tuple[str, ...]
    rollout: tuple[RolloutDecision, ...]
    warnings: tuple[str, ...]
    rotate_missing: bool = False
    evidence: Mapping[str, Evidence] = field(default_factory=dict)
    changes_fingerprint: str = ""
    fingerprint: str = ""
    format_version: str = FORMAT_VERSION

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    @property
    def partial(self) -> bool:
        """Whether a managed kind was not compared: then the plan cannot say "no changes"."""
        return bool(self.summary.get("partial"))

    @property
    def not_planned(self) -> dict[str, Coverage]:
        """The managed kinds that were not compared, with why."""
        return {kind: c for kind, c in self.coverage.items() if c.missing}

    def _body(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "certgov_version": self.certgov_version,
            "created_at": self.created_at,
            "server": self.server,
            "target": self.target.to_json(),
            "source": self.source.to_json(),
            "coverage": {kind: c.to_json() for kind, c in self.coverage.items()},
            "evidence": {name: e.to_json() for name, e in self.evidence.items()},
            "summary": dict(self.summary),
            "risks": [r.to_json() for r in self.risks],
            "changes": [c.to_json() for c in self.changes],
            "held": [h.to_json() for h in self.held],
            "unmanaged": list(self.unmanaged),
            "ignored": list(self.ignored),
            "rollout": [d.to_json() for d in self.rollout],
            "warnings": list(self.warnings),
            "options": {"rotate_missing": self.rotate_missing},
        }

    def to_json(self) -> dict[str, Any]:
        return {
            **self._body(),
            "changes_fingerprint": self.changes_fingerprint,
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, where: Position | None = None) -> PlanDocument:
        """A document read back: schema-checked, and refused when its fingerprints differ."""
        from certgov.plan.schema import plan_schema_problems

        if not isinstance(data, Mapping) or data.get("format_version") != FORMAT_VERSION:
            raise PlanFileError(
                f"not a certgov plan document of format_version {FORMAT_VERSION!r}",
                position=where,
            )
        problems = plan_schema_problems(data)
        if problems:
            raise PlanFileError("malformed plan file: " + "; ".join(problems), position=where)
        document = cls(
            certgov_version=str(data["certgov_version"]),
            created_at=str(data["created_at"]),
            server=data["server"],
            target=Target.from_json(data["target"]),
            source=PlanSource.from_json(data["source"]),
            coverage={k: Coverage.from_json(v) for k, v in data["coverage"].items()},
            evidence={k: Evidence.from_json(v) for k, v in data["evidence"].items()},
            summary=dict(data["summary"]),
            risks=tuple(Risk.from_json(r) for r in data["risks"]),
            changes=tuple(Change.from_json(c) for c in data["changes"]),
            held=tuple(Held.from_json(h) for h in data["held"]),
            unmanaged=tuple(data["unmanaged"]),
            ignored=tuple(data["ignored"]),
            rollout=tuple(RolloutDecision.from_json(d) for d in data["rollout"]),
            warnings=tuple(data["warnings"]),
            rotate_missing=bool(data["options"]["rotate_missing"]),
        )
        sealed = _fingerprints(document)
        if (sealed.fingerprint, sealed.changes_fingerprint) != (
            data["fingerprint"],
            data["changes_fingerprint"],
        ) or sealed.to_json() != data:
            raise PlanFileError(
                "the plan file's fingerprint does not match its content: it was edited after "
                "`certgov plan` wrote it; make a new plan",
                position=where,
            )
        return sealed


def changes_fingerprint(changes: Sequence[Change]) -> str:
    """The changes alone, without back-test figures (recent traffic is not part of a change)."""
    return digest([{k: v for k, v in c.to_json().items() if k != "backtest"} for c in changes])


def _fingerprints(document: PlanDocument) -> PlanDocument:
    """The document with both fingerprints computed: the one place they are."""
    with_changes = replace(document, changes_fingerprint=changes_fingerprint(document.changes))
    covered = {k: v for k, v in with_changes.to_json().items() if k not in _UNFINGERPRINTED}
    return replace(with_changes, fingerprint=digest(covered))


def build_document(
    plan: Plan,
    *,
    server: str | None,
    source: PlanSource | Mapping[str, Any],
    created_at: str,
    extra_warnings: tuple[str, ...] = (),
    tests: Mapping[str, TestReport] | None = None,
    backtests: Mapping[str, Backtest] | None = None,
    target: Target | None = None,
    coverage: Mapping[str, Coverage] | None = None,
    rotate_missing: bool = False,
    evidence: Mapping[str, Evidence] | None = None,
) -> PlanDocument:
    """The plan document for `plan`, with each change's test results and back-test, sealed.

    `coverage` defaults to every kind compared live; `target` to the server as given.
    """
    tests, backtests = tests or {}, backtests or {}
    changes = tuple(
        replace(c, tests=tests.get(c.address), backtest=backtests.get(c.address))
        if c.address in tests or c.address in backtests
        else c
        for c in plan.changes
    )
    compared = dict(coverage) if coverage is not None else {kind: Coverage(LIVE) for kind in KINDS}
    partial = any(c.missing for c in compared.values())
    return _fingerprints(
        PlanDocument(
            certgov_version=__version__,
            created_at=created_at,
            server=server,
            target=target or Target(server),
            source=source if isinstance(source, PlanSource) else PlanSource.from_json(source),
            coverage=compared,
            summary={**plan.summary(), "partial": partial},
            risks=risks(changes),
            changes=changes,
            held=plan.held,
            unmanaged=plan.unmanaged,
            ignored=plan.ignored,
            rollout=plan.rollouts,
            warnings=(*plan.warnings, *extra_warnings),
            rotate_missing=rotate_missing,
            evidence=dict(evidence or {}),
        )
    )


def dumps(document: PlanDocument | Mapping[str, Any]) -> str:
    """The JSON text `--out` writes: indented, keys in document order."""
    data = document.to_json() if isinstance(document, PlanDocument) else document
    return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def _nests_deeper(value: Any, limit: int) -> bool:
    """Whether `value` nests deeper than `limit` levels, measured without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if level > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)
    return False


def _too_deep_at(path: str, text: str) -> Position:
    """The position of the bracket that opens level MAX_DEPTH + 1 of a JSON text."""
    level, in_string, escaped = 0, False, False
    for offset, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            level += 1
            if level > MAX_DEPTH:
                line = text.count("\n", 0, offset) + 1
                return Position(path, line, offset - text.rfind("\n", 0, offset))
        elif char in "]}":
            level -= 1
    return Position(path)


def load_plan_file(path: str | Path) -> PlanDocument:
    """Read a plan file and refuse one that is malformed or whose fingerprint does not match."""
    where = Position(str(path))
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanFileError(f"cannot read plan file: {exc}", position=where) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanFileError(
            f"plan file is not valid JSON: {exc.msg}",
            position=Position(str(path), exc.lineno, exc.colno),
        ) from None
    except RecursionError:
        # The decoder recurses once per level of nesting; so do the schema check and the
        # fingerprint, which is why a document that did decode is measured too.
        raise PlanFileError(_TOO_DEEP, position=_too_deep_at(str(path), text)) from None
    if _nests_deeper(document, MAX_DEPTH):
        raise PlanFileError(_TOO_DEEP, position=_too_deep_at(str(path), text))
    return PlanDocument.from_json(document, where=where)
