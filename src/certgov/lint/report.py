"""Text and JSON renderings of a lint report document (LintReport.to_json())."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TextIO


def _where(finding: Mapping[str, Any]) -> str:
    if finding["line"] is None:
        return str(finding["file"])
    return f"{finding['file']}:{finding['line']}:{finding['col']}"


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def render_text(document: Mapping[str, Any], out: TextIO) -> None:
    """One line per finding (`file:line:col: level CGnnn message`), then a summary line."""
    for finding in document["findings"]:
        out.write(f"{_where(finding)}: {finding['level']} {finding['rule']} {finding['message']}\n")
    summary = document["summary"]
    total = len(document["findings"])
    parts = [
        _count(summary["error"], "error"),
        _count(summary["warning"], "warning"),
        _count(summary["note"], "note"),
    ]
    head = "no findings" if total == 0 else f"{_count(total, 'finding')} ({', '.join(parts)})"
    suppressed = summary["suppressed"]
    tail = f"; {suppressed} suppressed" if suppressed else ""
    out.write(f"{head}{tail}\n")


def render_json(document: Mapping[str, Any], out: TextIO) -> None:
    json.dump(document, out, indent=2, ensure_ascii=False)
    out.write("\n")
