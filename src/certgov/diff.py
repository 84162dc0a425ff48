"""Field-level differences between two nested JSON-like values, for people to read.

Used wherever two versions of one object are shown side by side: the planner's changes, the
stale-plan refusal, drift, and the comparison of a reviewed plan with a new one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DiffEntry:
    """One changed path, with its value before and after (None where absent)."""

    path: str
    before: Any
    after: Any

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "before": self.before, "after": self.after}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DiffEntry:
        return cls(str(data["path"]), data["before"], data["after"])


_DEEPDIFF_PATH = re.compile(r"\[('(?:[^'\\]|\\.)*'|\d+)\]")
_MISSING = object()


def _split_path(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for token in _DEEPDIFF_PATH.findall(path):
        parts.append(token[1:-1] if token.startswith("'") else int(token))
    return parts


def _format_path(parts: Iterable[str | int]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _lookup_or_missing(value: Any, parts: list[str | int]) -> Any:
    try:
        for part in parts:
            value = value[part]
    except (KeyError, IndexError, TypeError):
        return _MISSING
    return value


def _keyed_rules(rules: Any) -> dict[str, Any] | None:
    """A policy's rules keyed by action, when each action appears once (as declarations must);
    None for a list the API allows but no declaration can hold (two rules of one action)."""
    if not isinstance(rules, list) or not all(
        isinstance(r, Mapping) and isinstance(r.get("action"), str) for r in rules
    ):
        return None
    keyed = {r["action"]: {k: v for k, v in r.items() if k != "action"} for r in rules}
    return keyed if len(keyed) == len(rules) else None


def comparable(before: Any, after: Any) -> tuple[Any, Any]:
    """Both values with each `rules` list keyed by rule action where both sides allow it:
    rule order carries no meaning (every rule is evaluated), so diffs name `rules.<action>`,
    never a list position. Where a side cannot be keyed, both lists stay whole."""
    if not (isinstance(before, Mapping) and isinstance(after, Mapping)):
        return before, after
    b_out, a_out = dict(before), dict(after)
    for key in before.keys() & after.keys():
        if key == "rules":
            kb, ka = _keyed_rules(before[key]), _keyed_rules(after[key])
            if kb is not None and ka is not None:
                b_out[key], a_out[key] = kb, ka
        else:
            b_out[key], a_out[key] = comparable(before[key], after[key])
    return b_out, a_out


def field_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[DiffEntry, ...]:
    """Each changed path with its before and after value.

    Rules are keyed by action (`rules.enforce_max_validity.values.max_days`); every list (scopes,
    allowlists, domains, rules that cannot be keyed) is shown whole.
    """
    from deepdiff import DeepDiff  # imported when something changed: a tenth of a second

    before, after = comparable(before, after)
    dd = DeepDiff(dict(before), dict(after), view="tree", verbose_level=2)
    paths: set[tuple[str | int, ...]] = set()
    for level in (leaf for leaves in dd.values() for leaf in leaves):
        parts = _split_path(level.path())
        # Collapse into the nearest list: its order is normalised or meaningless, show it whole.
        for i in range(len(parts)):
            container = _lookup_or_missing(after, parts[:i])
            if container is _MISSING:
                container = _lookup_or_missing(before, parts[:i])
            if isinstance(container, list):
                parts = parts[:i]
                break
        paths.add(tuple(parts))
    entries = []
    for parts_t in sorted(paths, key=lambda p: [str(x) for x in p]):
        b = _lookup_or_missing(before, list(parts_t))
        a = _lookup_or_missing(after, list(parts_t))
        entries.append(
            DiffEntry(
                _format_path(parts_t),
                None if b is _MISSING else b,
                None if a is _MISSING else a,
            )
        )
    return tuple(entries)
