"""The pure planner, the plan model and the plan document."""

from __future__ import annotations

from certgov.plan.model import Change, DiffEntry, Facts, KindOptions, Plan, PlanOptions
from certgov.plan.planner import UnsafePlanError, plan

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
