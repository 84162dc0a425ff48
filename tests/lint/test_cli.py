"""`certgov lint` options: --output, --fail-on, --base, --now; and the pre-commit hooks."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.lint.helpers import CONFIG, account, cli_lint, commit_all, policy, write_repo

ROOT = Path(__file__).resolve().parents[2]
NO_EXPIRY = account("a").replace("expires_at: 2027-06-30\n", "")  # one warning (CG002)


def test_output_writes_the_report_to_a_file(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", {"a.yaml": NO_EXPIRY})
    report = tmp_path / "report.txt"
    result = cli_lint(repo, "--output", str(report))
    assert (result.exit_code, result.output) == (0, "")
    assert report.read_text() == (
        "a.yaml:3:7: warning CG002 ServiceAccount/a never expires; set expires_at to when it"
        " should be reviewed\n1 finding (0 errors, 1 warning, 0 notes)\n"
    )


@pytest.mark.parametrize(("fail_on", "code"), [("error", 0), ("warning", 1), ("note", 1)])
def test_fail_on_decides_the_exit_code_and_the_report_is_written_anyway(
    tmp_path: Path, fail_on: str, code: int
) -> None:
    repo = write_repo(tmp_path / "repo", {"a.yaml": NO_EXPIRY})
    report = tmp_path / "report.json"
    result = cli_lint(repo, "--fail-on", fail_on, "--format", "json", "--output", str(report))
    assert result.exit_code == code
    assert report.read_text().startswith('{\n  "version": 1,')


def test_a_clean_repository(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", {"a.yaml": account("a")})
    result = cli_lint(repo, "--fail-on", "note")
    assert (result.exit_code, result.output) == (0, "no findings\n")


def test_invalid_declarations_are_reported_as_errors(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", {"a.yaml": "apiVersion: certgov/v1\nkind: Nope\n"})
    result = cli_lint(repo)
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == "error: 1 problem in the declarations"


def test_now_must_be_a_time(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", {"a.yaml": account("a")})
    result = cli_lint(repo, "--now", "tomorrow")
    assert (result.exit_code, result.output) == (
        1,
        "error: --now 'tomorrow': expected an RFC 3339 time\n",
    )


def test_now_without_offset_is_utc(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", {"a.yaml": account("a")})
    result = cli_lint(repo, "--now", "2027-06-29T00:00:00")
    assert result.output.splitlines()[0] == (
        "a.yaml:7:13: warning CG013 ServiceAccount/a expires on 2027-06-30, in 1 day; extend"
        " expires_at or move its integration to a replacement"
    )


HARD = policy("P").replace("fail: soft", "fail: hard")


def test_base_defaults_to_head(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", {"p.yaml": HARD})
    assert cli_lint(repo).output.splitlines()[0].split(" ")[2] == "CG010"
    commit_all(repo)
    assert cli_lint(repo).output == "no findings\n"


def test_an_explicit_base_is_compared_against(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", {"p.yaml": policy("P")})
    commit_all(repo, "soft")
    (repo / "p.yaml").write_text(
        HARD.replace("rules:\n", "rules:\n  - action: block_ca_flag\n    fail: hard\n")
    )
    commit_all(repo, "hard")
    result = cli_lint(repo, "--base", "HEAD~1")
    assert [line.split(" ")[2] for line in result.output.splitlines()[:-1]] == ["CG010"]


def test_an_unknown_base_is_refused(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", {"a.yaml": account("a")})
    result = cli_lint(repo, "--base", "no-such-branch")
    assert (result.exit_code, result.output) == (
        1,
        "error: --base no-such-branch: unknown git ref\n",
    )


def test_a_base_outside_git_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    root.mkdir()
    (root / "certgov.yaml").write_text(CONFIG)
    result = cli_lint(root, "--base", "main")
    assert (result.exit_code, result.output) == (
        1,
        f"error: --base main: {root} is not inside a git repository\n",
    )


def hooks() -> dict[str, dict[str, object]]:
    listed = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    return {hook["id"]: hook for hook in listed}


def run_hook(hook_id: str, repo: Path) -> subprocess.CompletedProcess[str]:
    """Run a hook's entry the way pre-commit does: from the repository root, no file names."""
    hook = hooks()[hook_id]
    assert hook["pass_filenames"] is False
    argv = shlex.split(str(hook["entry"]))
    assert argv[0] == "certgov"
    script = Path(sys.executable).parent / "certgov"
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [str(script), *argv[1:]], cwd=repo, capture_output=True, text=True, env=env, check=False
    )


def test_pre_commit_hooks_are_declared() -> None:
    declared = hooks()
    ours = ("certgov-validate", "certgov-lint")  # other hooks in the file belong to other issues
    assert {k: (declared[k]["language"], declared[k]["entry"]) for k in ours} == {
        "certgov-validate": ("python", "certgov validate"),
        "certgov-lint": ("python", "certgov lint --fail-on error"),
    }


def test_pre_commit_hooks_pass_a_good_repository(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", {"a.yaml": account("a")})
    validated = run_hook("certgov-validate", repo)
    linted = run_hook("certgov-lint", repo)
    assert (validated.returncode, validated.stdout) == (0, "ok: 1 service account, 0 policies\n")
    assert (linted.returncode, linted.stdout) == (0, "no findings\n")


def test_pre_commit_lint_hook_stops_a_staged_secret(tmp_path: Path) -> None:
    repo = write_repo(
        tmp_path / "repo", {"a.yaml": account("a"), "creds.env": "CLIENT_SECRET=" + "Qw12" * 16}
    )
    linted = run_hook("certgov-lint", repo)
    assert (linted.returncode, linted.stdout) == (
        1,
        "creds.env:1:15: error CG012 creds.env holds a client secret <64 characters, masked>;"
        " remove it, regenerate the secret and keep it in a secret store\n"
        "1 finding (1 error, 0 warnings, 0 notes)\n",
    )


def test_pre_commit_validate_hook_stops_invalid_declarations(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", {"a.yaml": account("a").replace("[read]", "[root]")})
    validated = run_hook("certgov-validate", repo)
    assert validated.returncode == 1
    assert validated.stderr.splitlines()[0] == "error: 1 problem in the declarations"
