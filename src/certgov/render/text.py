"""Terraform-like text view of a plan document.

It opens with what a reviewer must know before the changes: the target, how each kind was
compared (a partial plan says so in a banner), and the risks. It never says "No changes" about a
kind it did not compare.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from certgov.plan.document import LIVE, PlanDocument
from certgov.plan.model import (
    DECLARED_BUT_IGNORED,
    DELETE_GRACE,
    OWN_ACCOUNT,
    Backtest,
    Change,
    Held,
    TestReport,
)
from certgov.plan.rollout import RolloutDecision

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
COLOURS = {"+": "32", "~": "33", ">": "36", "-": "31", "!": "31"}
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
ADOPT_HINT = (
    "apply refuses these rotations unless the plan is made with --rotate-missing; to keep a "
    "secret in use, store it with `certgov secret adopt ServiceAccount/NAME`"
)


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    return json.dumps(value, ensure_ascii=False)


def _count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"


class _Writer:
    def __init__(self, out: TextIO, color: bool) -> None:
        self.out = out
        self.color = color

    def line(self, text: str = "", marker: str | None = None) -> None:
        if self.color and marker in COLOURS:
            text = f"\x1b[{COLOURS[marker]}m{text}\x1b[0m"
        self.out.write(text + "\n")


# -- lines shared with the markdown view -----------------------------------------------------


def target_line(document: PlanDocument) -> str:
    return f"Target: {document.target}"


def coverage_line(document: PlanDocument) -> str:
    """`Compared: Policy live, ServiceAccount not planned` (the reasons are in the banner), and
    with rollouts what they were decided on: `; rollout evidence: audit log read, environment
    staging NOT READ` (the reasons are in the warnings)."""
    parts = []
    for kind, coverage in document.coverage.items():
        label = coverage.compared
        if coverage.compared != LIVE and coverage.reason and not coverage.missing:
            label += f" ({coverage.reason})"
        parts.append(f"{kind} {label}")
    line = "Compared: " + ", ".join(parts)
    if document.evidence:
        read = [
            f"{name} {'read' if e.read else 'NOT READ'}" for name, e in document.evidence.items()
        ]
        line += "; rollout evidence: " + ", ".join(read)
    return line


def partial_lines(document: PlanDocument) -> list[str]:
    """The banner of a partial plan: each kind not compared, and why."""
    if not document.partial:
        return []
    lines = ["PARTIAL PLAN: these kinds were not compared, so their changes are not shown:"]
    for kind, coverage in document.not_planned.items():
        lines.append(f"  {kind}: {coverage.reason}")
    return lines


def risk_lines(document: PlanDocument) -> list[str]:
    return [f"{r.address}: {r.risk}: {r.detail}" for r in document.risks]


def test_line(tests: TestReport) -> str:
    if tests.probe:
        verdict = "passed" if not tests.failed else "failed"
        return f"dry-run probe {verdict} (no tests declared: the server accepted a plain request)"
    return f"policy tests: {tests.passed} passed, {tests.failed} failed"


def rollout_lines(change: Change, decisions: Sequence[RolloutDecision]) -> list[str]:
    """The rules of a changed policy that its rollout holds at another strength than declared."""
    return [
        f"rollout: {d.rule} declared hard, applied {d.applied} ({d.state}: {d.detail})"
        for d in decisions
        if d.policy == change.name and change.kind == "Policy" and d.applied != "hard"
    ]


NO_CHANGES = "No changes. The live tenant matches the declarations."
NO_CHANGES_HELD = "No changes to apply; the changes held back below are not planned."

HELD_HEADINGS = {
    OWN_ACCOUNT: "Held back: changes that would cut off the account this run is logged in as:",
    DELETE_GRACE: "Held back: deletes waiting out their grace period (manage.<kind>.delete_after):",
    DECLARED_BUT_IGNORED: "Declared but ignored (not planned):",
}


def rollout_section(document: PlanDocument) -> list[tuple[str, list[str]]]:
    """The rules declared hard that their rollout has not promoted yet, whether or not their
    policy changes: (heading, lines), or nothing."""
    rollouts = [d for d in document.rollout if d.state != "promoted"]
    if not rollouts:
        return []
    return [
        (
            "Rollouts (rules declared hard, soft until they have earned it):",
            [f"{d.policy} / {d.rule}: {d.state}: {d.detail}" for d in rollouts],
        )
    ]


def held_sections(held: Sequence[Held]) -> list[tuple[str, list[str]]]:
    """(heading, lines) of what the plan holds back, by why."""
    sections = []
    for hold, heading in HELD_HEADINGS.items():
        mine = [h for h in held if h.hold == hold]
        if mine:
            lines = [
                f"{h.address}: {h.action}: {h.reason}" if h.action else f"{h.address}: {h.reason}"
                for h in mine
            ]
            sections.append((heading, lines))
    return sections


def missing_secret_lines(document: PlanDocument) -> list[str]:
    missing = [c for c in document.changes if c.missing_secret]
    if not missing:
        return []
    lines = [
        f"The store holds no secret for {_count(len(missing), 'account')} in use: rotating "
        f"{'it' if len(missing) == 1 else 'them'} cuts off whoever uses the current secret."
    ]
    lines += [f"  {c.address}: {c.reason}" for c in missing]
    if document.rotate_missing:
        lines.append("  (planned with --rotate-missing: apply will rotate them)")
    else:
        lines.append(f"  {ADOPT_HINT}")
    return lines


def summary_line(summary: Mapping[str, Any]) -> str:
    parts = [
        f"{summary['create']} to create",
        f"{summary['update']} to update",
        f"{summary['delete']} to delete",
    ]
    for action in ("rename", "enable", "disable", "rotate", "promote"):
        if summary[action]:
            parts.append(f"{summary[action]} to {action}")
    return "Plan: " + ", ".join(parts) + "."


def backtest_line(backtest: Backtest) -> str:
    if backtest.skipped is not None:
        return f"back-test skipped: {backtest.skipped}"
    what = "sampled requests" if backtest.disagreements else "matching requests"
    line = (
        f"back-test over {backtest.requests} {what} of the last "
        f"{backtest.days} days: {backtest.newly_warn} would newly warn, "
        f"{backtest.newly_block} would newly block"
    )
    if backtest.examples:
        line += f" (e.g. {', '.join(backtest.examples)})"
    line += f"; {backtest.sampled} confirmed by the server's dry run"
    if backtest.disagreements:
        listed = ", ".join(
            f"{d.request}: engine {d.engine}, server {d.server}" for d in backtest.disagreements
        )
        line += (
            f"; THE SERVER DISAGREED with certgov's engine on {len(backtest.disagreements)} "
            f"(so the figures are the server's, over the sample): {listed}"
        )
    return line


# -- the text view ----------------------------------------------------------------------------


def _change(w: _Writer, change: Change, decisions: Sequence[RolloutDecision]) -> None:
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
        # A field or rule that appears is added, one that goes is removed, as with create and
        # delete; only one that changes shows both sides.
        if entry.before is None:
            w.line(f"      + {entry.path}: {_value(entry.after)}", "+")
        elif entry.after is None:
            w.line(f"      - {entry.path}: {_value(entry.before)}", "-")
        else:
            w.line(f"      ~ {entry.path}: {_value(entry.before)} → {_value(entry.after)}", "~")
    secret = change.secret
    if secret and action in ("create", "rotate"):
        w.line(
            f"      + client_secret: (sensitive: generated on apply, stored in "
            f"{secret.store} at {secret.path})",
            "+",
        )
    for line in rollout_lines(change, decisions):
        w.line(f"      {line}")
    if change.steps:
        w.line(f"      steps: {' → '.join(change.steps)}")
    if change.tests:
        w.line(f"      {test_line(change.tests)}")
    if change.backtest:
        w.line(f"      {backtest_line(change.backtest)}")
    w.line()


def _section(w: _Writer, heading: str, lines: Sequence[str], marker: str | None = None) -> None:
    w.line()
    w.line(heading)
    for line in lines:
        w.line(f"  {line}", marker)


def render(document: PlanDocument, out: TextIO, *, color: bool = False) -> None:
    w = _Writer(out, color)
    summary = document.summary
    w.line(target_line(document))
    w.line(coverage_line(document))
    for line in partial_lines(document):
        w.line(line, "!")
    if document.risks:
        _section(w, "Risks for a security review:", risk_lines(document), "!")
    w.line()
    for warning in document.warnings:
        w.line(f"warning: {warning}")
    if document.warnings:
        w.line()
    if not document.changes:
        if document.partial:
            w.line("Nothing to change in what was compared; this plan is partial (see above).")
        else:
            w.line(NO_CHANGES_HELD if document.held else NO_CHANGES)
    else:
        w.line("certgov will perform the following actions:")
        w.line()
        for change in document.changes:
            _change(w, change, document.rollout)
        w.line(summary_line(summary))
    sections = held_sections(document.held)
    missing = missing_secret_lines(document)
    if missing:
        sections.insert(0, (missing[0], missing[1:]))
    sections += rollout_section(document)
    for heading, lines in sections:
        _section(w, heading, [line.strip() for line in lines])
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
        if sections:
            w.line()
        w.line("Also: " + ", ".join(notes) + ".")
