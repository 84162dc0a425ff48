"""The plan document as JSON, exactly as `--out` writes it."""

from __future__ import annotations

from typing import TextIO

from certgov.plan.document import PlanDocument, dumps


def render(document: PlanDocument, out: TextIO) -> None:
    out.write(dumps(document))
