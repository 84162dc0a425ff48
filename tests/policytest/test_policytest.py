"""Building dry-run requests from declared tests and judging the answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from certgov.errors import CertgovError
from certgov.policytest import (
    PolicyTestCase,
    cases_for,
    inline_body,
    judge,
    probe_request,
    run_cases,
    summarise,
)
from tests.plan.helpers import account, policy, with_meta

SRC = {"file": "p.yaml", "line": 9, "col": 5}


def answer(
    result: str, rules: tuple[str, ...] = (), applied: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "result": result,
        "allowed": result != "block",
        "matched_policies": [],
        "violations": [
            {"policy": "p", "rule": r, "fail": "hard", "message": f"{r} failed"} for r in rules
        ],
        "applied_values": applied or {},
    }


def test_probe_request_uses_the_first_domain_without_wildcard() -> None:
    p = policy("p", matching_criteria={"action": "certificate.renew", "domains": ["*.example.com"]})
    assert probe_request(p) == {
        "action": "certificate.renew",
        "common_name": "www.example.com",
        "sans": {"dns": ["www.example.com"]},
        "key": {"algorithm": "rsa", "size": 3072},
        "digest": "sha256",
        "validity_days": 90,
    }


def test_a_policy_without_tests_gets_one_probe_without_expectation() -> None:
    (case,) = cases_for(policy("p"))
    assert case == PolicyTestCase(
        "p", "dry-run probe", probe_request(policy("p")), None, probe=True
    )


def test_accounts_have_no_cases() -> None:
    assert cases_for(account("a")) == []


def test_declared_tests_default_the_action_and_read_csr_files(tmp_path: Path) -> None:
    (tmp_path / "api.pem").write_text("PEM")
    p = with_meta(
        policy("p"),
        tests=[
            {
                "name": "t1",
                "request": {"common_name": "a.example.com"},
                "expect": "block",
                "violations": ["require_san", "disable_wildcard"],
                "source": SRC,
            },
            {"name": "t2", "csr_file": "api.pem", "expect": "pass"},
        ],
    )
    assert cases_for(p, root=tmp_path) == [
        PolicyTestCase(
            "p",
            "t1",
            {
                "common_name": "a.example.com",
                "action": "certificate.generate",
                "key": {"algorithm": "rsa", "size": 3072},
                "digest": "sha256",
                "validity_days": 90,
            },
            "block",
            ("disable_wildcard", "require_san"),
            None,
            SRC,
        ),
        PolicyTestCase(
            "p",
            "t2",
            {"action": "certificate.generate", "csr": "PEM", "validity_days": 90},
            "pass",
        ),
    ]


def test_an_unreadable_csr_file_is_an_error_at_the_test(tmp_path: Path) -> None:
    p = with_meta(policy("p"), tests=[{"name": "t", "csr_file": "nope.pem", "source": SRC}])
    with pytest.raises(CertgovError) as info:
        cases_for(p, root=tmp_path)
    assert str(info.value.position) == "p.yaml:9:5"
    assert info.value.message.startswith("Policy/p: test 't': cannot read csr_file: ")


def test_judge_passes_matching_expectations() -> None:
    case = PolicyTestCase("p", "t", {}, "block", ("require_san",), {"organization": "X"})
    result = judge(case, answer("block", ("require_san",), {"organization": "X"}))
    assert result.passed
    assert result.failures == ()


def test_judge_reports_every_mismatch() -> None:
    case = PolicyTestCase("p", "t", {}, "block", ("require_san",), {"organization": "X"})
    result = judge(case, answer("warn", ("disable_wildcard",)))
    assert result.failures == (
        "expected block, got warn",
        "expected violations [require_san], got [disable_wildcard]",
        "expected applied_values {'organization': 'X'}, got {}",
    )


def test_a_probe_passes_whatever_the_result() -> None:
    assert judge(PolicyTestCase("p", "probe", {}, None), answer("block", ("x",))).passed


def test_run_cases_passes_the_policy_to_the_evaluator_and_summarises() -> None:
    seen = []

    def evaluate(request: Any, body: Any, pid: Any) -> dict[str, Any]:
        seen.append((dict(request), body, pid))
        return answer("pass")

    body = inline_body(policy("p", enabled=False).spec)
    results = run_cases([PolicyTestCase("p", "t", {"a": 1}, "block")], evaluate, policy_body=body)
    assert seen == [({"a": 1}, body, None)]
    assert body["is_enabled"] is True
    assert summarise(results) == {
        "passed": 0,
        "failed": 1,
        "results": [
            {
                "policy": "p",
                "name": "t",
                "expect": "block",
                "result": "pass",
                "passed": False,
                "failures": ["expected block, got pass"],
                "violations": [],
                "applied_values": {},
                "source": None,
            }
        ],
    }


def test_a_failure_counted_at_the_declared_strength_of_a_rule_held_soft_says_so() -> None:
    case = PolicyTestCase("p", "plain", {"common_name": "a.example.com"}, "pass")
    answer = {
        "result": "warn",
        "violations": [{"rule": "require_san", "fail": "soft", "message": "no SAN"}],
    }
    result = judge(case, answer, frozenset({"require_san"}))
    assert result.failures == (
        "expected pass, got block (require_san is held soft by a rollout for now; tests count "
        "a rule at its declared strength, hard: the server answered warn)",
    )
