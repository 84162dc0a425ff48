"""Markdown view of a plan document, sized for a pull-request comment.

GitHub refuses comments over 65,536 characters: the verdict, the list of deletes and disables and
the closing counts are always kept whole; per-object details are dropped from the end, with a
note of how many were left out and where the full plan is.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any, TextIO

from certgov.plan.document import PlanDocument
from certgov.plan.model import Change
from certgov.render.text import (
    backtest_line,
    coverage_line,
    held_sections,
    missing_secret_lines,
    rollout_lines,
    rollout_section,
    summary_line,
    target_line,
    test_line,
)

COMMENT_LIMIT = 65_536
DESTRUCTIVE = ("delete", "disable")
ICONS = {
    "create": "🆕",
    "update": "✏️",
    "rename": "🔀",
    "enable": "▶️",
    "disable": "⏸️",
    "rotate": "🔑",
    "promote": "⬆️",
    "delete": "🗑️",
}


def _code(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if value is not None else "(none)"
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


def _test_totals(changes: Sequence[Change]) -> tuple[int, int]:
    """Policy tests passed and failed; dry-run probes of policies without tests are no tests."""
    passed = sum(c.tests.passed for c in changes if c.tests and not c.tests.probe)
    failed = sum(c.tests.failed for c in changes if c.tests and not c.tests.probe)
    return passed, failed


def verdict(document: PlanDocument) -> str:
    counts = summary_line(document.summary).removeprefix("Plan: ").rstrip(".")
    parts = [f"**{counts}**"]
    passed, failed = _test_totals(document.changes)
    if passed or failed:
        parts.append(f"policy tests {passed} passed" + (f", **{failed} failed**" if failed else ""))
    fp = document.fingerprint
    parts.append(f"plan `{fp[:19]}…`")
    return " · ".join(parts)


def _details(change: Change, document: PlanDocument, risky: bool) -> str:
    opened = " open" if risky else ""
    lines = [
        f"<details{opened}><summary>{ICONS[change.action]} <b>{change.action}</b> "
        f"<code>{html.escape(change.address)}</code></summary>",
        "",
    ]
    if change.reason:
        lines.append(f"_{change.reason}_")
        lines.append("")
    if change.action == "create":
        lines += ["| field | value |", "|---|---|"]
        for key, value in (change.after or {}).items():
            lines.append(f"| `{key}` | {_code(value)} |")
        if change.secret:
            lines.append(
                f"| `client_secret` | _(sensitive: generated on apply, stored in "
                f"{change.secret.store} at {change.secret.path})_ |"
            )
    elif change.diff:
        lines += ["| field | before | after |", "|---|---|---|"]
        for entry in change.diff:
            lines.append(f"| `{entry.path}` | {_code(entry.before)} | {_code(entry.after)} |")
    held = rollout_lines(change, document.rollout)
    if held:
        lines += ["", *(f"- {_sentence(line)}" for line in held)]
    if change.steps:
        lines += ["", "Steps: " + " → ".join(change.steps)]
    tests = change.tests
    if tests:
        lines += ["", _sentence(test_line(tests))]
        if not tests.probe:
            for result in tests.results:
                mark = "✅" if result["passed"] else "❌"
                extra = f" — {'; '.join(result['failures'])}" if result["failures"] else ""
                lines.append(f"- {mark} {result['name']}: {result['result']}{extra}")
    if change.backtest:
        lines += ["", _sentence(backtest_line(change.backtest))]
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def _sentence(line: str) -> str:
    return line[0].upper() + line[1:]


def _opening(document: PlanDocument) -> list[str]:
    """Target, coverage, the partial banner and the risks: kept whole, whatever the size."""
    head = [f"**{target_line(document)}** · {coverage_line(document)}\n\n"]
    if document.partial:
        head.append("> [!CAUTION]\n> **Partial plan**: these kinds were not compared, so their ")
        head.append("changes are not shown:\n")
        for kind, coverage in document.not_planned.items():
            head.append(f"> - **{kind}**: {coverage.reason}\n")
        head.append("\n")
    if document.risks:
        head.append(f"**Risks for a security review** ({len(document.risks)}):\n\n")
        head += [
            f"- {_inline_code(r.address)} **{r.risk}**: {_escape(r.detail)}\n"
            for r in document.risks
        ]
        head.append("\n")
    return head


def _inline_code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def _escape(text: str) -> str:
    """Text from names and reasons, kept from opening HTML tags in the comment."""
    return text.replace("&", "&amp;").replace("<", "&lt;")


def _held(document: PlanDocument) -> str:
    parts = []
    missing = missing_secret_lines(document)
    if missing:
        parts.append(f"> [!IMPORTANT]\n> {_escape(missing[0])}\n")
        parts += [f"> - {_escape(line.strip())}\n" for line in missing[1:]]
        parts.append("\n")
    for heading, lines in [*held_sections(document.held), *rollout_section(document)]:
        parts.append(f"**{heading}**\n\n")
        parts += [f"- {_escape(line)}\n" for line in lines]
        parts.append("\n")
    return "".join(parts)


def _closing(document: PlanDocument) -> str:
    summary = document.summary
    return (
        f"{summary['unchanged']} unchanged · {summary['unmanaged']} unmanaged · "
        f"{summary['ignored']} ignored\n\n"
        f"Changes fingerprint (apply on merge checks it): `{document.changes_fingerprint}`\n"
    )


def heading(document: PlanDocument) -> str:
    """`### certgov plan`, naming the environment when there is one: a comment may hold the
    plans of several environments, one section each."""
    env = document.target.environment
    return f"### certgov plan: {env}\n\n" if env else "### certgov plan\n\n"


def render_text(
    document: PlanDocument,
    *,
    marker: str | None = None,
    details_url: str | None = None,
    limit: int = COMMENT_LIMIT,
) -> str:
    """The whole comment body, never longer than `limit` characters."""
    head = [f"{marker}\n" if marker else "", heading(document), *_opening(document)]
    changes = document.changes
    for warning in document.warnings:
        head.append(f"> {_escape(warning)}\n")
    if document.warnings:
        head.append("\n")
    if not changes:
        what = "Nothing to change in what was compared" if document.partial else "No changes"
        head.append(f"{what} · plan `{document.fingerprint[:19]}…`\n")
        held = _held(document)
        return "".join(head) + ("\n" + held if held else "")
    head.append(verdict(document) + "\n\n")
    destructive = [c for c in changes if c.action in DESTRUCTIVE]
    if destructive:
        head.append("> [!WARNING]\n> This plan disables or deletes:\n")
        for c in destructive:
            head.append(f"> - **{c.action}** `{c.address}`\n")
        head.append("\n")
    head.append(_held(document))
    risky = {r.address for r in document.risks}
    tail = "\n" + _closing(document)
    blocks = [_details(c, document, c.address in risky) for c in changes]
    where = f" The full plan: {details_url}" if details_url else ""
    fixed = len("".join(head)) + len(tail)
    prefix = [0]
    for block in blocks:
        prefix.append(prefix[-1] + len(block))
    for kept in range(len(blocks), -1, -1):
        omitted = len(blocks) - kept
        note = (
            f"\n_{omitted} of {len(blocks)} change details left out to fit the comment "
            f"limit.{where}_\n"
            if omitted
            else ""
        )
        if fixed + prefix[kept] + len(note) <= limit or kept == 0:
            return "".join(head) + "".join(blocks[:kept]) + note + tail
    raise AssertionError("unreachable")  # pragma: no cover


def render(
    document: PlanDocument,
    out: TextIO,
    *,
    marker: str | None = None,
    details_url: str | None = None,
    limit: int = COMMENT_LIMIT,
) -> None:
    out.write(render_text(document, marker=marker, details_url=details_url, limit=limit))
