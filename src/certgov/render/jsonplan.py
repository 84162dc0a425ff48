"""The plan document as JSON, exactly as `--out` writes it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TextIO

from certgov.plan.document import dumps


def render(document: Mapping[str, Any], out: TextIO) -> None:
    out.write(dumps(document))
