"""The pure planner, the plan model and the plan document."""

from __future__ import annotations

from certgov.diff import DiffEntry
from certgov.errors import UnsafePlanError
from certgov.plan.model import Change, Facts, KindOptions, Plan, PlanOptions
from certgov.plan.planner import plan

__all__ = [
    "Change",
    "DiffEntry",
    "Facts",
    "KindOptions",
    "Plan",
    "PlanOptions",
    "UnsafePlanError",
    "plan",
]
