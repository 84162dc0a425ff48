"""Tests report what they tried through `record()`; `figures.py` collects it for the README.

Recording happens only when CERTGOV_FIGURES names a JSON-lines file (figures.py sets it), so an
ordinary test run writes nothing."""

from __future__ import annotations

import json
import os
import threading

_lock = threading.Lock()


def record(figure: str, value: int) -> None:
    path = os.environ.get("CERTGOV_FIGURES")
    if not path:
        return
    with _lock, open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps({"figure": figure, "value": value}) + "\n")
