"""Comparing a reviewed plan's changes with a new plan's."""

from __future__ import annotations

from typing import Any

from certgov.plan.compare import compare_changes
from certgov.plan.model import Action, Change


def change(address: str, action: Action, **extra: Any) -> Change:
    kind, _, name = address.partition("/")
    fields: dict[str, Any] = {"before": None, "after": {"description": ""}, **extra}
    return Change(action, kind, name, **fields)


def test_compare_names_each_difference() -> None:
    reviewed = [
        change("Policy/a", "update"),
        change("Policy/b", "create"),
        change("Policy/c", "update"),
    ]
    current = [
        change("Policy/a", "update"),
        change("Policy/c", "update", after={"description": "x"}),
        change("ServiceAccount/d", "delete"),
    ]
    assert compare_changes(reviewed, current) == [
        "- create Policy/b: in the reviewed plan only",
        "~ update Policy/c: differs in after.description",
        "+ delete ServiceAccount/d: in the new plan only",
    ]


def test_compare_of_equal_plans_is_empty() -> None:
    assert compare_changes([change("Policy/a", "update")], [change("Policy/a", "update")]) == []
