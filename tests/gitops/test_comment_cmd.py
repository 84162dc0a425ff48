"""`certgov comment` end to end through the CLI against the GitHub fake."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from certgov.cli.comment_cmd import read_markdown
from certgov.cli.main import cli
from certgov.errors import UsageError
from tests.gitops.conftest import REPO
from tests.gitops.github_fake import FakeGitHub


def _run(github: FakeGitHub, *args: str, token: str | None = None) -> tuple[int, str, str]:
    env = {"GITHUB_TOKEN": github.token if token is None else token, "GITHUB_API_URL": github.url}
    result = CliRunner().invoke(cli, ["comment", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_comment_creates_then_updates_the_same_comment(github: FakeGitHub, tmp_path: Path) -> None:
    pr = github.add_pull_request(REPO)
    plan = tmp_path / "plan.md"
    plan.write_text("**1 to create**\n", encoding="utf-8")
    args = ("--repo", REPO, "--pr", str(pr), "--file", str(plan))

    created = _run(github, *args)
    plan.write_text("**No changes.**\n", encoding="utf-8")
    updated = _run(github, *args)

    [comment] = github.comments(REPO, pr)
    assert created == (0, f"created comment {comment['html_url']}\n", "")
    assert updated == (0, f"updated comment {comment['html_url']}\n", "")
    assert comment["body"] == "<!-- certgov:plan:. -->\n**No changes.**\n"


def test_comment_marks_the_comment_with_the_marker_folder(
    github: FakeGitHub, tmp_path: Path
) -> None:
    pr = github.add_pull_request(REPO)
    plan = tmp_path / "plan.md"
    plan.write_text("plan of prod", encoding="utf-8")

    code, _, _ = _run(
        github, "--repo", REPO, "--pr", str(pr), "--file", str(plan), "--marker-dir", "./prod/"
    )

    assert (code, [c["body"] for c in github.comments(REPO, pr)]) == (
        0,
        ["<!-- certgov:plan:prod -->\nplan of prod"],
    )


def test_comment_with_a_refused_token_exits_3_with_the_error(
    github: FakeGitHub, tmp_path: Path
) -> None:
    pr = github.add_pull_request(REPO)
    plan = tmp_path / "plan.md"
    plan.write_text("plan", encoding="utf-8")

    result = _run(
        github, "--repo", REPO, "--pr", str(pr), "--file", str(plan), token="ghs_not-valid"
    )

    assert result == (
        3,
        "",
        f"error: GitHub refused the token on GET /repos/{REPO}/issues/{pr}/comments (401 Bad "
        "credentials): set GITHUB_TOKEN to a valid, unexpired token\n",
    )


def test_comment_without_a_token_exits_1_before_any_call(
    github: FakeGitHub, tmp_path: Path
) -> None:
    plan = tmp_path / "plan.md"
    plan.write_text("plan", encoding="utf-8")

    result = _run(github, "--repo", REPO, "--pr", "1", "--file", str(plan), token="")

    assert result == (
        1,
        "",
        "error: no GitHub token: set GITHUB_TOKEN (in a workflow: ${{ github.token }})\n",
    )
    assert github.calls == []


def test_comment_refuses_a_file_that_is_not_utf8(github: FakeGitHub, tmp_path: Path) -> None:
    plan = tmp_path / "plan.md"
    plan.write_bytes(b"\xff\xfeplan")

    result = _run(github, "--repo", REPO, "--pr", "1", "--file", str(plan))

    assert result == (1, "", f"error: {plan} is not UTF-8 text: invalid start byte\n")
    assert github.calls == []


def test_read_markdown_reports_a_file_it_cannot_read(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        read_markdown(tmp_path)

    assert caught.value.message == f"cannot read {tmp_path}: Is a directory"


def test_comment_of_several_files_has_one_section_each_in_order_under_one_marker(
    github: FakeGitHub, tmp_path: Path
) -> None:
    pr = github.add_pull_request(REPO)
    staging, production = tmp_path / "staging.md", tmp_path / "production.md"
    staging.write_text("<!-- certgov:plan:. -->\n### certgov plan: staging\n\nNo changes\n")
    production.write_text("<!-- certgov:plan:. -->\n### certgov plan: production\n\n1 to create")
    args = ("--repo", REPO, "--pr", str(pr), "--file", str(staging), "--file", str(production))

    created = _run(github, *args)
    staging.write_text("<!-- certgov:plan:. -->\n### certgov plan: staging\n\n1 to update\n")
    updated = _run(github, *args)

    [comment] = github.comments(REPO, pr)
    assert (created[0], updated) == (0, (0, f"updated comment {comment['html_url']}\n", ""))
    assert comment["body"] == (
        "<!-- certgov:plan:. -->\n"
        "### certgov plan: staging\n\n1 to update\n"
        "\n"
        "### certgov plan: production\n\n1 to create\n"
    )


def test_comment_of_sections_too_long_together_says_what_share_each_may_have(
    github: FakeGitHub, tmp_path: Path
) -> None:
    pr = github.add_pull_request(REPO)
    files = []
    for name in ("staging", "production", "sandbox"):
        path = tmp_path / f"{name}.md"
        path.write_text(f"### certgov plan: {name}\n\n" + "x" * 30_000 + "\n")
        files += ["--file", str(path)]

    result = _run(github, "--repo", REPO, "--pr", str(pr), *files)

    assert result == (
        1,
        "",
        "error: the 3 sections have 90,113 characters together and GitHub allows 65,536 in a "
        "comment: render each plan with `certgov plan --format markdown --max-chars 21845`\n",
    )
    assert github.calls == []
