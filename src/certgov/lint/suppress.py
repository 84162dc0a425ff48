"""Inline suppressions: `# certgov: ignore CG001 <reason>` on the line a finding points at.

Several ids may be given, separated by commas or spaces (`ignore CG001, CG002 <reason>`). A
comment with no known id or no reason suppresses nothing and is itself a CG015 finding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from certgov.lint.catalogue import BY_ID
from certgov.lint.model import Finding, Location

_COMMENT = re.compile(r"(?:^|\s)#\s*certgov:\s*ignore\b(?P<rest>.*)$")
_ID = re.compile(r"CG[0-9]{3}")
_PARTS = re.compile(r"(?P<ids>(?:[\s,]*CG[0-9]{3}\b)*)[\s,]*(?P<reason>.*)")


@dataclass(frozen=True)
class Suppression:
    """One parsed comment: the rule ids it names and why."""

    ids: tuple[str, ...]
    reason: str
    col: int


def parse_line(line: str) -> Suppression | None:
    """The suppression on one line, or None when the line has no `# certgov: ignore`."""
    match = _COMMENT.search(line)
    if match is None:
        return None
    parts = _PARTS.match(match.group("rest"))
    assert parts is not None  # every text matches: both groups may be empty
    ids = tuple(_ID.findall(parts.group("ids")))
    col = match.start() + (1 if line[match.start()] == "#" else 2)
    return Suppression(ids, parts.group("reason").strip(), col)


@dataclass
class Suppressions:
    """The suppressions of the files read so far, by repository-relative path and line."""

    repo_root: Path
    _files: dict[str, dict[int, Suppression]]

    @classmethod
    def empty(cls, repo_root: Path) -> Suppressions:
        return cls(repo_root, {})

    def of_file(self, rel: str) -> dict[int, Suppression]:
        if rel not in self._files:
            path = self.repo_root / rel
            found: dict[int, Suppression] = {}
            if path.is_file():
                text = path.read_text(encoding="utf-8", errors="replace")
                for number, line in enumerate(text.splitlines(), start=1):
                    parsed = parse_line(line)
                    if parsed is not None:
                        found[number] = parsed
            self._files[rel] = found
        return self._files[rel]

    def reason_for(self, finding: Finding) -> str | None:
        """The reason a usable comment on the finding's line gives for ignoring its rule."""
        loc = finding.location
        parsed = self.of_file(loc.file).get(loc.line)
        if parsed is None or not usable(parsed) or finding.rule not in parsed.ids:
            return None
        return parsed.reason

    def problems(self, files: Iterable[str]) -> list[Finding]:
        """CG015 findings for the unusable comments in `files`."""
        out = []
        for rel in files:
            for number, parsed in self.of_file(rel).items():
                if usable(parsed):
                    continue
                unknown = [i for i in parsed.ids if i not in BY_ID]
                if not parsed.ids:
                    why = "names no rule id"
                elif unknown:
                    why = f"names unknown rule {', '.join(unknown)}"
                else:
                    why = "gives no reason"
                out.append(
                    Finding(
                        "CG015",
                        BY_ID["CG015"].level,
                        f"this suppression {why}; write"
                        f" '# certgov: ignore {' '.join(parsed.ids) or 'CGnnn'} <reason>'",
                        Location(rel, number, parsed.col),
                        None,
                        f"{','.join(parsed.ids)}:{parsed.reason}",
                    )
                )
        return out


def usable(parsed: Suppression) -> bool:
    return bool(parsed.ids) and bool(parsed.reason) and all(i in BY_ID for i in parsed.ids)
