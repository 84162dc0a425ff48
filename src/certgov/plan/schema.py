"""Validation of plan documents against schemas/plan.json."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator

from certgov.plan.document import PlanDocument
from certgov.resources import load_schema


def plan_schema_problems(document: Mapping[str, Any] | PlanDocument) -> list[str]:
    """Every way `document` breaks the published plan schema, as `path: message` lines."""
    if isinstance(document, PlanDocument):
        document = document.to_json()
    validator = Draft202012Validator(load_schema("plan.json"))
    problems = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path))):
        where = "/".join(str(p) for p in error.absolute_path) or "(document)"
        problems.append(f"{where}: {error.message}")
    return problems
