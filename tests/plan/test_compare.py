"""Comparing a reviewed plan's changes with a new plan's."""

from __future__ import annotations

from certgov.plan.compare import compare_changes


def change(address: str, action: str, **extra: object) -> dict[str, object]:
    return {"address": address, "action": action, "after": {"description": ""}, **extra}


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
