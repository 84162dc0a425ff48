"""Durations as declarations write them (`90d`, `12h`) and their length in seconds."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"([0-9]+)([smhdw])")

MAX_DAYS = 3650
"""The longest `rotate_after` or `promote_after`: ten years, far past any sane setting and far
short of what date arithmetic overflows on."""


def parse_duration(text: str) -> int:
    """Seconds in `text`, a number followed by one unit of s, m, h, d or w.

    The schema has already checked the form; anything else is a programming error.
    """
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def format_duration(seconds: int) -> str:
    """The shortest exact form of `seconds`, as `parse_duration` reads it."""
    for unit, size in sorted(_UNITS.items(), key=lambda item: -item[1]):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def length_problem(text: str) -> str | None:
    """Why `text`, a duration of the schema's form, is too long to use; None when it is not."""
    if parse_duration(text) > MAX_DAYS * _UNITS["d"]:
        return f"must be at most {MAX_DAYS} days ({MAX_DAYS}d)"
    return None
