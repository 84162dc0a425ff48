"""Small helpers the commands share for writing files and choosing colour."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO


def write_private(path: str | Path, text: str) -> None:
    """Write a file readable only by its owner (plan files, reports)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def use_color(stream: TextIO, no_color: bool) -> bool:
    """Colour only on a terminal, never with --no-color or NO_COLOR set."""
    if no_color or os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def stdout() -> TextIO:
    return sys.stdout


def aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as lines, columns two spaces apart, each as wide as its widest cell (the last one
    unpadded)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join([*(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)), r[-1]]).rstrip()
        for r in rows
    ]
