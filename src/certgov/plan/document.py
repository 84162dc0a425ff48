"""The plan document: the one JSON form of a plan that renderers read and apply executes.

Layout (see docs/plan-format.md and schemas/plan.json):

    {"format_version": "1", "certgov_version", "created_at", "server",
     "source": {"path", "git_commit", "digest"},
     "summary": {...counts...}, "changes": [...], "unmanaged": [...], "ignored": [...],
     "rollout": [...], "warnings": [...], "changes_fingerprint": "sha256:...",
     "fingerprint": "sha256:..."}

The fingerprint is the sha256 of the canonical JSON of everything but itself and `created_at`.
`changes_fingerprint` covers the changes alone: a plan made again at the merged commit (another
commit id, perhaps another account) has the same changes fingerprint exactly when it would do
the same things, which is what `apply --expect-fingerprint` compares.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from certgov import __version__
from certgov.errors import CertgovError, Position
from certgov.plan.model import Plan, digest

FORMAT_VERSION = "1"
_UNFINGERPRINTED = ("fingerprint", "created_at")
MAX_DEPTH = 100
"""The deepest nesting a plan file may have; a real plan nests about ten levels."""
_TOO_DEEP = f"plan file is not a certgov plan: its JSON nests deeper than {MAX_DEPTH} levels"


class PlanFileError(CertgovError):
    """A plan file that cannot be used: unreadable, malformed or edited by hand."""


def changes_fingerprint(changes: Sequence[Mapping[str, Any]]) -> str:
    """The changes alone, without back-test figures (recent traffic is not part of a change)."""
    return digest([{k: v for k, v in c.items() if k != "backtest"} for c in changes])


def fingerprint(document: Mapping[str, Any]) -> str:
    return digest({k: v for k, v in document.items() if k not in _UNFINGERPRINTED})


def build_document(
    plan: Plan,
    *,
    server: str | None,
    source: Mapping[str, Any],
    created_at: str,
    extra_warnings: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The plan document for `plan`, fingerprinted."""
    document: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "certgov_version": __version__,
        "created_at": created_at,
        "server": server,
        "source": dict(source),
        "summary": plan.summary(),
        "changes": [c.to_json() for c in plan.changes],
        "unmanaged": list(plan.unmanaged),
        "ignored": list(plan.ignored),
        "rollout": [d.to_json() for d in plan.rollouts],
        "warnings": [*plan.warnings, *extra_warnings],
    }
    return refingerprint(document)


def refingerprint(document: dict[str, Any]) -> dict[str, Any]:
    """Recompute the fingerprints after a step that adds to the changes (e.g. test results)."""
    document["changes_fingerprint"] = changes_fingerprint(document["changes"])
    document["fingerprint"] = fingerprint(document)
    return document


def dumps(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


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


def load_plan_file(path: str | Path) -> dict[str, Any]:
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
    if not isinstance(document, dict) or document.get("format_version") != FORMAT_VERSION:
        raise PlanFileError(
            f"not a certgov plan document of format_version {FORMAT_VERSION!r}", position=where
        )
    from certgov.plan.schema import plan_schema_problems

    problems = plan_schema_problems(document)
    if problems:
        raise PlanFileError("malformed plan file: " + "; ".join(problems), position=where)
    if document.get("fingerprint") != fingerprint(document) or document.get(
        "changes_fingerprint"
    ) != changes_fingerprint(document.get("changes") or []):
        raise PlanFileError(
            "the plan file's fingerprint does not match its content: it was edited after "
            "`certgov plan` wrote it; make a new plan",
            position=where,
        )
    return document
