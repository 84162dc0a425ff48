"""The lint data model: rule descriptions, findings, suppressed findings and the report."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

Level = Literal["error", "warning", "note"]
LEVELS: tuple[Level, ...] = ("error", "warning", "note")
_RANK = {"note": 1, "warning": 2, "error": 3}


def reaches(level: str, threshold: str) -> bool:
    """Whether a finding at `level` is at least as severe as `threshold`."""
    return _RANK[level] >= _RANK[threshold]


@dataclass(frozen=True)
class RuleInfo:
    """One lint rule: its id, a CamelCase name, its default level and two descriptions.

    `short` is one sentence saying what the rule finds; `help` says why it matters and what to
    do, in a few sentences.
    """

    id: str
    name: str
    level: Level
    short: str
    help: str


@dataclass(frozen=True)
class Location:
    """Where a finding points: a file relative to the repository root, 1-based line and column."""

    file: str
    line: int = 0
    col: int = 0


@dataclass(frozen=True)
class Finding:
    """One thing a rule found, at one place, about one object (None for whole-file findings).

    `key` tells findings of one rule on one object apart (an allowlist entry, a rule action); it
    goes into the fingerprint, which leaves out line numbers so that alerts survive edits above.
    """

    rule: str
    level: Level
    message: str
    location: Location
    object: str | None = None
    key: str = ""

    @property
    def fingerprint(self) -> str:
        anchor = self.object if self.object is not None else self.location.file
        text = "\x1f".join((self.rule, anchor, self.key))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def sort_key(self) -> tuple[str, int, int, str, str]:
        loc = self.location
        return (loc.file, loc.line, loc.col, self.rule, self.message)

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "level": self.level,
            "message": self.message,
            "file": self.location.file,
            "line": self.location.line or None,
            "col": self.location.col or None,
            "object": self.object,
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True)
class Suppressed:
    """A finding silenced by an inline `# certgov: ignore` comment, with the reason given."""

    finding: Finding
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {**self.finding.to_json(), "reason": self.reason}


@dataclass(frozen=True)
class LintReport:
    """What one lint run found: the rules as configured, findings, and suppressed findings."""

    rules: tuple[RuleInfo, ...]
    levels: dict[str, Level]
    disabled: frozenset[str]
    findings: tuple[Finding, ...]
    suppressed: tuple[Suppressed, ...] = field(default=())

    def reaches(self, threshold: str) -> bool:
        """Whether any (unsuppressed) finding is at least as severe as `threshold`."""
        return any(reaches(f.level, threshold) for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        """The report document that every renderer (text, json, sarif) reads."""
        counts = {level: sum(1 for f in self.findings if f.level == level) for level in LEVELS}
        return {
            "version": 1,
            "rules": [
                {
                    "id": r.id,
                    "name": r.name,
                    "default_level": r.level,
                    "level": self.levels[r.id],
                    "enabled": r.id not in self.disabled,
                    "short": r.short,
                    "help": r.help,
                }
                for r in self.rules
            ],
            "findings": [f.to_json() for f in self.findings],
            "suppressed": [s.to_json() for s in self.suppressed],
            "summary": {**counts, "suppressed": len(self.suppressed)},
        }
