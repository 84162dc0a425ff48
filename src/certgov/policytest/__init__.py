"""Policy tests through the dry run: each declared test's request, its expectation, the verdict.

The evaluation itself is passed in (`Evaluate`): the server's validate endpoint, or the
in-process rule engine for `--offline`; this module only builds requests and compares.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from certgov.errors import CertgovError, Position
from certgov.state import POLICY, Resource, api_body

# What a test's request may leave out: the policy's action, and a key, digest and validity that
# no rule of the catalogue refuses at its loosest.
REQUEST_DEFAULTS: Mapping[str, Any] = {
    "key": {"algorithm": "rsa", "size": 3072},
    "digest": "sha256",
    "validity_days": 90,
}

# (request, inline policy body or None, stored policy id or None) -> §4.3 `data`
Evaluate = Callable[[Mapping[str, Any], Mapping[str, Any] | None, Any], Mapping[str, Any]]


@dataclass(frozen=True)
class PolicyTestCase:
    policy: str
    name: str
    request: Mapping[str, Any]
    expect: str | None
    violations: tuple[str, ...] | None = None
    applied_values: Mapping[str, Any] | None = None
    source: Mapping[str, Any] | None = None


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


def _position(source: Mapping[str, Any] | None) -> Position | None:
    if not source:
        return None
    return Position(str(source["file"]), int(source.get("line", 0)), int(source.get("col", 0)))


def probe_request(resource: Resource) -> dict[str, Any]:
    """A plain request for a policy without tests, built from its first domain."""
    criteria = resource.spec["matching_criteria"]
    first = criteria["domains"][0]
    name = "www." + first[2:] if first.startswith("*.") else first
    return {
        "action": criteria["action"],
        "common_name": name,
        "sans": {"dns": [name]},
        "key": {"algorithm": "rsa", "size": 3072},
        "digest": "sha256",
        "validity_days": 90,
    }


def cases_for(resource: Resource, *, root: Path | None = None) -> list[PolicyTestCase]:
    """The policy's declared tests, or one probe case (no expectation) when it has none."""
    if resource.kind != POLICY:
        return []
    declared: Sequence[Mapping[str, Any]] = resource.meta.get("tests") or ()
    if not declared:
        return [PolicyTestCase(resource.name, "dry-run probe", probe_request(resource), None)]
    cases = []
    action = resource.spec["matching_criteria"]["action"]
    for test in declared:
        request = dict(test.get("request") or {})
        request.setdefault("action", action)
        csr_file = test.get("csr_file")
        if not csr_file:
            for key, value in REQUEST_DEFAULTS.items():
                request.setdefault(key, value)
        if csr_file and "csr" not in request:
            path = Path(csr_file) if root is None else root / csr_file
            try:
                request["csr"] = path.read_text("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CertgovError(
                    f"{resource.address}: test {test['name']!r}: cannot read csr_file: {exc}",
                    position=_position(test.get("source")),
                ) from None
        if csr_file:
            request.setdefault("validity_days", 90)
        violations = test.get("violations")
        cases.append(
            PolicyTestCase(
                policy=resource.name,
                name=str(test["name"]),
                request=request,
                expect=test.get("expect"),
                violations=tuple(sorted(violations)) if violations is not None else None,
                applied_values=test.get("applied_values"),
                source=test.get("source"),
            )
        )
    return cases


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
    if result != "block" and any(v["rule"] in softened for v in violations):
        result = "block"
    applied = dict(data.get("applied_values") or {})
    failures = []
    if case.expect is not None and result != case.expect:
        failures.append(f"expected {case.expect}, got {result}")
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


def offline_evaluate(
    request: Mapping[str, Any], policy: Mapping[str, Any] | None, policy_id: Any
) -> Mapping[str, Any]:
    """The dry run in-process, through the same rule engine the reference server runs."""
    from certgov.rules.engine import PolicyInput, evaluate
    from certgov.rules.request import parse_request
    from certgov.rules.validation import InvalidPolicyError

    if policy is None:
        raise CertgovError("offline tests need the policy inline, not a stored policy id")
    parsed, problems = parse_request(request)
    if parsed is None:
        raise CertgovError(
            "invalid test request: " + "; ".join(f"{path}: {msg}" for path, msg in problems)
        )
    try:
        policy_input = PolicyInput.from_json(policy)
    except InvalidPolicyError as exc:
        listed = "; ".join(f"{path}: {msg}" for path, msg in exc.problems)
        raise CertgovError(f"invalid policy: {listed}") from None
    return evaluate(parsed, [policy_input], ignore_enabled=True).to_json()


def inline_body(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A policy spec as an inline dry-run body: what it will be once enabled."""
    return {**api_body(POLICY, spec), "is_enabled": True}


class PolicyTestsFailedError(CertgovError):
    """At least one policy test did not hold."""

    def __init__(self, failed: int) -> None:
        super().__init__(f"{failed} policy test{'s' if failed != 1 else ''} failed")


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


def summarise(results: Sequence[PolicyTestResult]) -> dict[str, Any]:
    passed = sum(1 for r in results if r.passed)
    return {
        "passed": passed,
        "failed": len(results) - passed,
        "results": [r.to_json() for r in results],
    }
