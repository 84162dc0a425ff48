"""Where certgov's shipped data files (schemas, examples) are, installed or in a checkout."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_PACKAGE_DATA = Path(__file__).parent / "_data"
_CHECKOUT = Path(__file__).resolve().parents[2]


def checkout_dir(name: str) -> Path:
    """`schemas` or `examples` of the source checkout (an editable install's too)."""
    return _CHECKOUT / name


def data_dir(name: str) -> Path:
    """`schemas` or `examples`: the wheel's copy when installed, else the checkout's folder."""
    installed = _PACKAGE_DATA / name
    return installed if installed.is_dir() else checkout_dir(name)


@cache
def load_schema(filename: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((data_dir("schemas") / filename).read_text("utf-8"))
    return data
