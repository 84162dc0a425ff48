"""Golden error output: one folder per error class under examples/invalid, compared whole.

Run with `--update-golden` to rewrite tests/declarations/golden/<case>/ deliberately.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from certgov.cli.main import cli
from tests.declarations.helpers import GOLDEN, INVALID, REPO

CASES = sorted(p.name for p in INVALID.iterdir() if p.is_dir())


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["validate", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("case", CASES)
def test_invalid_example_prints_the_golden_errors(
    case: str, update_golden: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    code, out, err = _run(f"examples/invalid/{case}")
    expected = GOLDEN / case / "expected.txt"
    if update_golden:
        expected.parent.mkdir(parents=True, exist_ok=True)
        expected.write_text(err, encoding="utf-8")
    assert (code, out, err) == (1, "", expected.read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES)
def test_invalid_example_prints_the_golden_json(
    case: str, update_golden: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    code, out, err = _run(f"examples/invalid/{case}", "--format", "json")
    expected = GOLDEN / case / "expected.json"
    if update_golden:
        expected.parent.mkdir(parents=True, exist_ok=True)
        expected.write_text(out, encoding="utf-8")
    assert (code, json.loads(out), err) == (1, json.loads(expected.read_text("utf-8")), "")


def test_every_golden_folder_has_its_invalid_example() -> None:
    assert sorted(p.name for p in GOLDEN.iterdir() if p.is_dir()) == CASES
