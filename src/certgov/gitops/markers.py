"""Hidden markers that let certgov find its own comment or issue again instead of adding another.

A marker is an HTML comment, invisible in rendered markdown: `<!-- certgov:plan:<dir> -->` for
the plan comment of one declarations folder on a pull request (one section per environment),
`<!-- certgov:drift:<dir> -->` for the drift issue of one folder, `<!-- certgov:drift:<dir>
env=<name> -->` for that of one of its environments. One folder, one comment: two folders planned
in one pull request get two comments that never overwrite each other.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence

from certgov.errors import UsageError

PLAN = "plan"
DRIFT = "drift"

# What may not appear inside an HTML comment, or would make the marker span lines.
_FORBIDDEN = re.compile(r"--|[<>\r\n]")
# certgov.yaml's environment names (schemas/config.json).
_ENVIRONMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def marker(kind: str, directory: str, environment: str | None = None) -> str:
    """`<!-- certgov:<kind>:<dir> -->` with `dir` normalised, so `./prod/` and `prod` match;
    `<!-- certgov:<kind>:<dir> env=<name> -->` for one environment of the folder."""
    normalised = posixpath.normpath(directory.replace("\\", "/").strip() or ".")
    if _FORBIDDEN.search(normalised):
        raise UsageError(
            f"marker folder {directory!r} cannot go into an HTML comment: "
            "it may not contain '--', '<', '>' or line breaks"
        )
    if environment is not None and (
        not _ENVIRONMENT.fullmatch(environment) or _FORBIDDEN.search(environment)
    ):
        raise UsageError(
            f"environment {environment!r} cannot go into an HTML comment: it may hold letters, "
            "digits, '_' and '-', but not '--'"
        )
    where = f"{normalised} env={environment}" if environment else normalised
    return f"<!-- certgov:{kind}:{where} -->"


def plan_marker(directory: str) -> str:
    """The marker of the plan comment for the declarations at `directory` (one comment, with a
    section per environment)."""
    return marker(PLAN, directory)


def drift_marker(directory: str, environment: str | None = None) -> str:
    """The marker of the drift issue for the declarations at `directory`: one issue per
    environment."""
    return marker(DRIFT, directory, environment)


def with_marker(body: str, marker_text: str) -> str:
    """`body` with the marker on its first line, unless the body carries it already."""
    if marker_text in body:
        return body
    return f"{marker_text}\n{body}"


def with_sections(sections: Sequence[str], marker_text: str) -> str:
    """One body of several sections (the plan of each environment, in order) under one marker;
    each section's own copy of the marker is dropped. One section is `with_marker` of itself."""
    if len(sections) == 1:
        return with_marker(sections[0], marker_text)
    parts = [s.removeprefix(f"{marker_text}\n") for s in sections]
    return f"{marker_text}\n" + "\n".join(p if p.endswith("\n") else f"{p}\n" for p in parts)
