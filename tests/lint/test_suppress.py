"""Inline suppressions: parsing, silencing with a reason, and CG015 for bad comments."""

from __future__ import annotations

from pathlib import Path

import pytest

from certgov.lint.suppress import Suppression, parse_line
from tests.lint.helpers import lines, run_lint, write_repo

ADMIN = """\
apiVersion: certgov/v1
kind: ServiceAccount
name: admin-bot
description: Administers accounts
scopes: [admin]{comment}
ip_allowlist: [203.0.113.0/24]
expires_at: 2027-06-30
secret: {{store: local, path: admin-bot, rotate_after: 30d}}
"""


def repo_with(tmp_path: Path, comment: str) -> Path:
    return write_repo(tmp_path / "repo", {"a.yaml": ADMIN.format(comment=comment)})


@pytest.mark.parametrize(
    ("line", "parsed"),
    [
        ("scopes: [admin]", None),
        ("# certgov: ignore CG001 admin needed", Suppression(("CG001",), "admin needed", 1)),
        (
            "x: 1  #certgov:ignore CG001,CG002  two reasons",
            Suppression(("CG001", "CG002"), "two reasons", 7),
        ),
        ("x: 1  # certgov: ignore CG001", Suppression(("CG001",), "", 7)),
        ("x: 1  # certgov: ignore because", Suppression((), "because", 7)),
        ("x: 'a#certgov: ignore CG001 no'", None),
    ],
)
def test_parse_line(line: str, parsed: Suppression | None) -> None:
    assert parse_line(line) == parsed


def test_a_suppression_with_a_reason_silences_the_finding(tmp_path: Path) -> None:
    report = run_lint(repo_with(tmp_path, "  # certgov: ignore CG001 it administers accounts"))
    assert lines(report) == []
    assert [(s.finding.rule, s.reason) for s in report.suppressed] == [
        ("CG001", "it administers accounts")
    ]


def test_a_suppression_of_another_rule_silences_nothing(tmp_path: Path) -> None:
    report = run_lint(repo_with(tmp_path, "  # certgov: ignore CG002 wrong rule"))
    assert [f.rule for f in report.findings] == ["CG001"]
    assert report.suppressed == ()


def test_a_suppression_without_reason_is_a_finding_and_silences_nothing(tmp_path: Path) -> None:
    report = run_lint(repo_with(tmp_path, "  # certgov: ignore CG001"))
    assert lines(report) == [
        "a.yaml:5:10: warning CG001 ServiceAccount/admin-bot has the admin scope; grant write"
        " or read unless it administers service accounts",
        "a.yaml:5:18: warning CG015 this suppression gives no reason; write"
        " '# certgov: ignore CG001 <reason>'",
    ]


def test_a_suppression_naming_an_unknown_rule_is_a_finding(tmp_path: Path) -> None:
    report = run_lint(repo_with(tmp_path, "  # certgov: ignore CG999 typo"))
    assert lines(report, "CG015") == [
        "a.yaml:5:18: warning CG015 this suppression names unknown rule CG999; write"
        " '# certgov: ignore CG999 <reason>'"
    ]


def test_a_suppression_naming_no_rule_is_a_finding(tmp_path: Path) -> None:
    report = run_lint(repo_with(tmp_path, "  # certgov: ignore everything"))
    assert lines(report, "CG015") == [
        "a.yaml:5:18: warning CG015 this suppression names no rule id; write"
        " '# certgov: ignore CGnnn <reason>'"
    ]


def test_a_suppression_must_be_on_the_findings_line(tmp_path: Path) -> None:
    text = ADMIN.format(comment="").replace(
        "description:", "# certgov: ignore CG001 on the wrong line\ndescription:"
    )
    report = run_lint(write_repo(tmp_path / "repo", {"a.yaml": text}))
    assert [f.rule for f in report.findings] == ["CG001"]
