"""`certgov test`: every declared policy test through the dry run, or the engine offline."""

from __future__ import annotations

from certgov.errors import UsageError
from certgov.policytest import (
    Evaluate,
    PolicyTestResult,
    cases_for,
    inline_body,
    offline_evaluate,
    run_cases,
)
from certgov.run.facts import Connect
from certgov.run.plan import client_evaluator
from certgov.state import POLICY


def run_policy_tests(
    path: str, policies: tuple[str, ...], connect: Connect | None, environment: str | None = None
) -> list[PolicyTestResult]:
    """Each chosen policy's tests (all policies with tests when `policies` is empty); offline
    through the in-process rule engine when `connect` is None."""
    from certgov.declarations import load

    decls = load(path, environment=environment)
    chosen = [r for r in decls.state.of_kind(POLICY) if r.meta.get("tests")]
    if policies:
        unknown = sorted(set(policies) - {r.name for r in decls.state.of_kind(POLICY)})
        if unknown:
            raise UsageError(f"--policy: no declared policy named {', '.join(unknown)}")
        chosen = [r for r in chosen if r.name in policies]

    def run(evaluate: Evaluate) -> list[PolicyTestResult]:
        results: list[PolicyTestResult] = []
        for resource in chosen:
            cases = cases_for(resource, root=decls.root)
            results += run_cases(cases, evaluate, policy_body=inline_body(resource.spec))
        return results

    if connect is None:
        return run(offline_evaluate)
    with connect(decls.config.endpoint) as client:
        return run(client_evaluator(client))
