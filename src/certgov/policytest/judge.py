"""Judging dry-run answers against a case's expectations."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from certgov.policytest.cases import PolicyTestCase

# (request, inline policy body or None, stored policy id or None) -> §4.3 `data`
Evaluate = Callable[[Mapping[str, Any], Mapping[str, Any] | None, Any], Mapping[str, Any]]


@dataclass(frozen=True)
class PolicyTestResult:
    case: PolicyTestCase
    result: str
    violations: tuple[Mapping[str, Any], ...]
    applied_values: Mapping[str, Any]
    failures: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.case.policy,
            "name": self.case.name,
            "expect": self.case.expect,
            "result": self.result,
            "passed": self.passed,
            "failures": list(self.failures),
            "violations": [dict(v) for v in self.violations],
            "applied_values": dict(self.applied_values),
            "source": dict(self.case.source) if self.case.source else None,
        }


def softened_rules(declared: Mapping[str, Any], evaluated: Mapping[str, Any]) -> frozenset[str]:
    """Rule actions declared hard that the evaluated policy holds soft (a rollout in progress)."""
    hard = {r["action"] for r in declared["rules"] if r["fail"] == "hard"}
    return frozenset(r["action"] for r in evaluated["rules"] if r["fail"] == "soft") & hard


def judge(
    case: PolicyTestCase, data: Mapping[str, Any], softened: frozenset[str] = frozenset()
) -> PolicyTestResult:
    """Compare one dry-run answer with the case's expectations.

    Tests describe the declared policy: a violation of a rule that a rollout holds soft for now
    counts as the block it will become.
    """
    result = str(data["result"])
    violations = tuple(data.get("violations") or ())
    held = sorted({str(v["rule"]) for v in violations if v["rule"] in softened})
    if result != "block" and held:
        result = "block"
    applied = dict(data.get("applied_values") or {})
    failures = []
    if case.expect is not None and result != case.expect:
        why = (
            f" ({', '.join(held)} {'is' if len(held) == 1 else 'are'} held soft by a rollout "
            "for now; tests count a rule at its declared strength, hard: the server answered "
            f"{data['result']})"
            if held and result == "block" and data["result"] != "block"
            else ""
        )
        failures.append(f"expected {case.expect}, got {result}{why}")
    if case.violations is not None:
        actual = tuple(sorted({str(v["rule"]) for v in violations}))
        if actual != case.violations:
            failures.append(
                f"expected violations [{', '.join(case.violations)}], got [{', '.join(actual)}]"
            )
    if case.applied_values is not None and applied != dict(case.applied_values):
        failures.append(f"expected applied_values {dict(case.applied_values)}, got {applied}")
    return PolicyTestResult(case, result, violations, applied, tuple(failures))


def run_cases(
    cases: Sequence[PolicyTestCase],
    evaluate: Evaluate,
    *,
    policy_body: Mapping[str, Any] | None = None,
    policy_id: Any = None,
    softened: frozenset[str] = frozenset(),
) -> list[PolicyTestResult]:
    return [judge(case, evaluate(case.request, policy_body, policy_id), softened) for case in cases]
