"""Policy tests through the dry run: each declared test's request, its expectation, the verdict.

The evaluation itself is passed in (`Evaluate`): the server's validate endpoint, or the
in-process rule engine for `--offline`; this package only builds requests and compares.
"""

from __future__ import annotations

from certgov.policytest.cases import (
    REQUEST_DEFAULTS,
    PolicyTestCase,
    cases_for,
    inline_body,
    probe_request,
)
from certgov.policytest.judge import (
    Evaluate,
    PolicyTestResult,
    judge,
    run_cases,
    softened_rules,
)
from certgov.policytest.offline import offline_evaluate
from certgov.policytest.report import is_probe, proof_message, report_lines, summarise

__all__ = [
    "REQUEST_DEFAULTS",
    "Evaluate",
    "PolicyTestCase",
    "PolicyTestResult",
    "cases_for",
    "inline_body",
    "is_probe",
    "judge",
    "offline_evaluate",
    "probe_request",
    "proof_message",
    "report_lines",
    "run_cases",
    "softened_rules",
    "summarise",
]
