"""What differs between two plans' changes: for `apply --expect-plan`, in words."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from certgov.diff import field_diff
from certgov.plan.model import Change


def _keyed(changes: Sequence[Change]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(c.address, c.action): c.to_json() for c in changes}


def compare_changes(reviewed: Sequence[Change], current: Sequence[Change]) -> list[str]:
    """One line per change that is not the same in both plans."""
    old, new = _keyed(reviewed), _keyed(current)
    lines = []
    for key in sorted(old.keys() | new.keys()):
        address, action = key
        if key not in new:
            lines.append(f"- {action} {address}: in the reviewed plan only")
        elif key not in old:
            lines.append(f"+ {action} {address}: in the new plan only")
        elif old[key] != new[key]:
            diffs = field_diff(old[key], new[key])
            what = ", ".join(d.path for d in diffs)
            lines.append(f"~ {action} {address}: differs in {what}")
    return lines
