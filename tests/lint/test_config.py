"""`lint:` in certgov.yaml: disable rules, change levels, refuse unknown ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from certgov.errors import UsageError
from tests.lint.helpers import CONFIG, cli_lint, lines, run_lint, write_repo

NO_EXPIRY = """\
apiVersion: certgov/v1
kind: ServiceAccount
name: forever
description: Runs forever
scopes: [read]
ip_allowlist: [203.0.113.0/24]
secret: {store: local, path: forever, rotate_after: 90d}
"""


def repo(tmp_path: Path, lint_section: str) -> Path:
    return write_repo(tmp_path / "repo", {"a.yaml": NO_EXPIRY}, config=CONFIG + lint_section)


def test_default_level(tmp_path: Path) -> None:
    assert lines(run_lint(repo(tmp_path, ""))) == [
        "a.yaml:3:7: warning CG002 ServiceAccount/forever never expires; set expires_at to"
        " when it should be reviewed"
    ]


def test_levels_change_a_rules_level(tmp_path: Path) -> None:
    report = run_lint(repo(tmp_path, "lint:\n  levels: {CG002: error}\n"))
    assert lines(report) == [
        "a.yaml:3:7: error CG002 ServiceAccount/forever never expires; set expires_at to"
        " when it should be reviewed"
    ]


def test_disable_turns_a_rule_off(tmp_path: Path) -> None:
    report = run_lint(repo(tmp_path, "lint:\n  disable: [CG002]\n"))
    assert lines(report) == []
    assert "CG002" in report.disabled


def test_disabled_secret_scan_reads_no_files(tmp_path: Path) -> None:
    root = repo(tmp_path, "lint:\n  disable: [CG012]\n")
    (root / "leak.txt").write_text("client_secret=" + "A1" * 32 + "\n")
    assert lines(run_lint(root), "CG012") == []


def test_unknown_rule_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        run_lint(repo(tmp_path, "lint:\n  disable: [CG099]\n  levels: {CG098: note}\n"))
    assert caught.value.message == (
        "certgov.yaml: lint names unknown rules CG098, CG099; the rules are CG001-CG015"
    )


def test_sarif_records_configured_levels_and_disabled_rules(tmp_path: Path) -> None:
    root = repo(tmp_path, "lint:\n  disable: [CG004]\n  levels: {CG002: note}\n")
    result = cli_lint(root, "--format", "sarif")
    run = json.loads(result.output)["runs"][0]
    assert run["invocations"] == [
        {
            "executionSuccessful": True,
            "ruleConfigurationOverrides": [
                {
                    "descriptor": {"id": "CG002", "index": 1},
                    "configuration": {"level": "note", "enabled": True},
                },
                {
                    "descriptor": {"id": "CG004", "index": 3},
                    "configuration": {"level": "note", "enabled": False},
                },
            ],
        }
    ]
    assert [(r["ruleId"], r["level"]) for r in run["results"]] == [("CG002", "note")]
