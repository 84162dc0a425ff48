"""Golden reports (text, json, sarif) for the quickstart example and the deliberately bad repo;
every SARIF output validated against the official SARIF 2.1.0 schema."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from certgov.resources import data_dir
from tests.lint.helpers import cli_lint, copy_repo

HERE = Path(__file__).parent
CASES = HERE / "cases"
# The quickstart as a user would have it: committed (so no rule counts as new).
SOURCES = {
    "quickstart": (data_dir("examples") / "quickstart", True),
    "bad": (CASES / "bad" / "repo", False),
}
FORMATS = {"text": "lint.txt", "json": "lint.json", "sarif": "lint.sarif"}


@cache
def sarif_validator() -> Draft4Validator:
    schema = json.loads((HERE / "schemas" / "sarif-schema-2.1.0.json").read_text())
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


def lint_case(tmp_path: Path, case: str, fmt: str) -> tuple[int, str]:
    source, commit = SOURCES[case]
    repo = copy_repo(source, tmp_path / "repo", commit=commit)
    result = cli_lint(repo, "--format", fmt)
    return result.exit_code, result.output


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("case", sorted(SOURCES))
def test_lint_report_matches_golden(
    tmp_path: Path, case: str, fmt: str, update_golden: bool
) -> None:
    code, output = lint_case(tmp_path, case, fmt)
    expected_file = CASES / case / FORMATS[fmt]
    if update_golden:
        expected_file.parent.mkdir(parents=True, exist_ok=True)
        expected_file.write_text(output)
    assert output == expected_file.read_text()
    assert code == {"quickstart": 0, "bad": 1}[case]


@pytest.mark.parametrize("case", sorted(SOURCES))
def test_sarif_report_is_valid_sarif_2_1_0(tmp_path: Path, case: str) -> None:
    _, output = lint_case(tmp_path, case, "sarif")
    document: dict[str, Any] = json.loads(output)
    errors = [e.message for e in sarif_validator().iter_errors(document)]
    assert errors == []


def test_sarif_schema_rejects_a_result_without_message() -> None:
    """The validator really checks results (a guard against a schema that accepts anything)."""
    log = {
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "CG001"}]}],
    }
    assert not sarif_validator().is_valid(log)
