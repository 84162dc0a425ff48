"""The README's exit-code table, row by row, as a user meets each code."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from certgov.cli import cli
from tests.integration.conftest import LiveServer, free_port
from tests.integration.crashrepo import write_repo

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_codes() -> list[int]:
    rows = re.findall(r"^\| (\d+) \| ", README.read_text(), flags=re.MULTILINE)
    return [int(code) for code in rows]


def test_the_readme_table_lists_each_exit_code_once() -> None:
    assert readme_codes() == [0, 1, 2, 3, 130]


def interrupted_prompt(*args: object, **kwargs: object) -> str:
    """click.prompt as it behaves when Ctrl-C comes at the prompt."""
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        raise click.Abort from None


def test_each_exit_code_of_the_readme_table(
    live_sqlite: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = write_repo(tmp_path / "repo", 1, 0)
    seen = {}
    seen[2] = live_sqlite.cli("plan", str(repo), "--detailed-exitcode")
    seen[1] = live_sqlite.cli("plan", str(repo), "--no-such-option")
    unreachable = f"http://127.0.0.1:{free_port()}"
    seen[3] = CliRunner().invoke(
        cli, ["plan", str(repo), "--url", unreachable, "--credentials", str(live_sqlite.admin)]
    )
    with monkeypatch.context() as patch:
        patch.setattr(click, "prompt", interrupted_prompt)
        seen[130] = live_sqlite.cli("apply", str(repo))
    assert live_sqlite.cli("apply", str(repo), "--auto-approve").exit_code == 0
    seen[0] = live_sqlite.cli("plan", str(repo), "--detailed-exitcode")
    assert {code: result.exit_code for code, result in seen.items()} == {
        code: code for code in readme_codes()
    }
    assert seen[1].stderr.splitlines()[-1] == (
        "Error: No such option '--no-such-option'. Did you mean '--no-color'?"
    )
    assert seen[130].stderr.splitlines()[-1] == "error: interrupted"
    with live_sqlite.client() as client:
        assert [a["name"] for a in client.list_service_accounts()] == [
            "acct-000",
            "bootstrap-admin",
        ]


def leaf_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += leaf_commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("command", leaf_commands(cli), ids=" ".join)
def test_every_usage_error_of_every_command_exits_1(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*command, "--definitely-not-an-option"])
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.splitlines()[-1].startswith(
        "Error: No such option '--definitely-not-an-option'"
    )


def groups(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The groups that need a command (`certgov server` alone serves)."""
    found = [] if group.invoke_without_command else [prefix]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += groups(command, (*prefix, name))
    return found


@pytest.mark.parametrize("command", groups(cli), ids=lambda c: " ".join(("certgov", *c)))
def test_a_group_without_its_command_prints_its_help_alone_and_exits_1(
    command: tuple[str, ...],
) -> None:
    result = CliRunner().invoke(cli, list(command))
    helped = CliRunner().invoke(cli, [*command, "--help"])
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == helped.stdout
