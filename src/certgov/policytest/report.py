"""Policy test results as report lines and as the plan document's summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from certgov.policytest.judge import PolicyTestResult


def report_lines(results: Sequence[PolicyTestResult], *, include_passed: bool = True) -> list[str]:
    """One line per test; failures with expected versus actual, the messages and file:line."""
    lines = []
    for r in results:
        if r.passed:
            if include_passed:
                lines.append(f"PASS Policy/{r.case.policy}: {r.case.name}")
            continue
        src = r.case.source or {}
        where = f" ({src.get('file')}:{src.get('line')})" if src else ""
        lines.append(f"FAIL Policy/{r.case.policy}: {r.case.name}{where}")
        lines += [f"     {failure}" for failure in r.failures]
        lines += [f"     {v.get('fail')} {v.get('rule')}: {v.get('message')}" for v in r.violations]
    return lines


def is_probe(results: Sequence[PolicyTestResult]) -> bool:
    """Whether the results are a dry-run probe's (the policy declares no test), not tests."""
    return bool(results) and all(r.case.probe for r in results)


def summarise(results: Sequence[PolicyTestResult]) -> dict[str, Any]:
    passed = sum(1 for r in results if r.passed)
    out: dict[str, Any] = {
        "passed": passed,
        "failed": len(results) - passed,
        "results": [r.to_json() for r in results],
    }
    if is_probe(results):
        out["probe"] = True
    return out


def proof_message(results: Sequence[PolicyTestResult]) -> str:
    """What apply says of the dry run that proved a policy."""
    if is_probe(results):
        return "dry-run probe passed"
    return f"{len(results)} dry-run test{'s' if len(results) != 1 else ''} passed"
