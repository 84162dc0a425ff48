"""Terraform-like text view of a plan document."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TextIO

from certgov.plan.document import PlanDocument
from certgov.plan.model import Backtest, Change

MARKERS = {
    "create": "+",
    "update": "~",
    "rename": ">",
    "enable": "~",
    "disable": "~",
    "rotate": "~",
    "promote": "~",
    "delete": "-",
}
COLOURS = {"+": "32", "~": "33", ">": "36", "-": "31"}
HEADLINES = {
    "create": "will be created",
    "update": "will be updated in place",
    "rename": "will be renamed",
    "enable": "will be enabled",
    "disable": "will be disabled",
    "rotate": "will have its secret rotated",
    "promote": "will have a rule promoted from soft to hard",
    "delete": "will be deleted",
}


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    return json.dumps(value, ensure_ascii=False)


class _Writer:
    def __init__(self, out: TextIO, color: bool) -> None:
        self.out = out
        self.color = color

    def line(self, text: str = "", marker: str | None = None) -> None:
        if self.color and marker in COLOURS:
            text = f"\x1b[{COLOURS[marker]}m{text}\x1b[0m"
        self.out.write(text + "\n")


def _change(w: _Writer, change: Change) -> None:
    action = change.action
    marker = MARKERS[action]
    address = change.address
    w.line(f"  # {address} {HEADLINES[action]}")
    if change.reason:
        w.line(f"  # ({change.reason})")
    w.line(f"  {marker} {address}", marker)
    if action in ("create", "delete"):
        sign = "+" if action == "create" else "-"
        spec = change.after if action == "create" else change.before
        for key, value in (spec or {}).items():
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                w.line(f"      {sign} {key}:", sign)
                for item in value:
                    w.line(f"          {sign} {_value(item)}", sign)
            else:
                w.line(f"      {sign} {key}: {_value(value)}", sign)
    for entry in change.diff:
        w.line(f"      ~ {entry.path}: {_value(entry.before)} → {_value(entry.after)}", "~")
    secret = change.secret
    if secret and action in ("create", "rotate"):
        w.line(
            f"      + client_secret: (sensitive: generated on apply, stored in "
            f"{secret.store} at {secret.path})",
            "+",
        )
    if change.steps:
        w.line(f"      steps: {' → '.join(change.steps)}")
    if change.tests:
        w.line(f"      policy tests: {change.tests.passed} passed, {change.tests.failed} failed")
    if change.backtest:
        w.line(f"      {backtest_line(change.backtest)}")
    w.line()


def backtest_line(backtest: Backtest) -> str:
    if backtest.skipped is not None:
        return f"back-test skipped: {backtest.skipped}"
    line = (
        f"back-test over {backtest.requests} matching requests of the last "
        f"{backtest.days} days: {backtest.newly_warn} would newly warn, "
        f"{backtest.newly_block} would newly block"
    )
    if backtest.examples:
        line += f" (e.g. {', '.join(backtest.examples)})"
    return line


def summary_line(summary: Mapping[str, int]) -> str:
    parts = [
        f"{summary['create']} to create",
        f"{summary['update']} to update",
        f"{summary['delete']} to delete",
    ]
    for action in ("rename", "enable", "disable", "rotate", "promote"):
        if summary[action]:
            parts.append(f"{summary[action]} to {action}")
    return "Plan: " + ", ".join(parts) + "."


def render(document: PlanDocument, out: TextIO, *, color: bool = False) -> None:
    w = _Writer(out, color)
    summary = document.summary
    for warning in document.warnings:
        w.line(f"warning: {warning}")
    if not document.changes:
        w.line("No changes. The live tenant matches the declarations.")
    else:
        w.line("certgov will perform the following actions:")
        w.line()
        for change in document.changes:
            _change(w, change)
        w.line(summary_line(summary))
    rollouts = [d for d in document.rollout if d.state != "promoted"]
    if rollouts:
        w.line()
        w.line("Rollouts (rules declared hard, soft until they have earned it):")
        for d in rollouts:
            w.line(f"  {d.policy} / {d.rule}: {d.state}: {d.detail}")
    notes = []
    if summary["unchanged"]:
        notes.append(f"{summary['unchanged']} unchanged")
    if summary["unmanaged"]:
        notes.append(
            f"{summary['unmanaged']} unmanaged (not declared; pruned only if manage says so)"
        )
    if summary["ignored"]:
        notes.append(f"{summary['ignored']} ignored")
    if notes:
        w.line("Also: " + ", ".join(notes) + ".")
