"""The generated reference pages match what runs: the click commands and the JSON Schemas."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from tools import docgen


def test_the_generated_reference_pages_are_current() -> None:
    stale = [
        name
        for name, render in docgen.PAGES.items()
        if (docgen.REFERENCE / name).read_text(encoding="utf-8") != render()
    ]
    assert stale == [], "run python -m tools.docgen"


def test_the_cli_reference_names_every_command() -> None:
    page = (docgen.REFERENCE / "cli.md").read_text(encoding="utf-8")
    titles = [line for line in page.splitlines() if line.startswith("## `certgov")]
    assert "## `certgov secret adopt`" in titles
    assert "## `certgov snapshot`" in titles
    assert len(titles) == len(set(titles))


def test_the_readme_lists_every_command() -> None:
    """Each command (and `certgov server`, which serves when given no subcommand) has its line
    in the README's command list."""
    from certgov.cli import cli

    def is_group(path: tuple[str, ...]) -> bool:
        command: click.Command | None = cli
        for name in path:
            assert isinstance(command, click.Group)
            command = command.commands[name]
        return isinstance(command, click.Group)

    readme = (docgen.ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Using it", 1)[1].split("```", 2)[1]
    lines = [line.split("#")[0] + " " for line in block.splitlines()]
    commands = [p for p in docgen._commands(cli, ()) if p and not is_group(p)] + [("server",)]
    missing = [
        " ".join(p) for p in commands if not any(f"certgov {' '.join(p)} " in x for x in lines)
    ]
    assert missing == []


def test_the_servers_openapi_document_names_the_contract_it_serves(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    from certgov.server import Settings, create_app

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/clm.db"))
    summary = app.openapi()["info"]["summary"]
    assert "docs/api.md" in summary
    assert (docgen.ROOT / "docs" / "api.md").read_text(encoding="utf-8").startswith("# ")


def test_every_docs_page_that_code_workflows_and_examples_name_exists() -> None:
    """A page named in a message, a comment or a workflow is where the reader will look."""
    root = Path(__file__).parents[2]
    sources = [
        root / "README.md",
        *sorted((root / "src").rglob("*.py")),
        *sorted((root / "examples").rglob("*.y*ml")),
        *sorted((root / "examples").rglob("*.md")),
        *sorted((root / ".github").rglob("*.y*ml")),
    ]
    named = {
        (path.relative_to(root).as_posix(), page)
        for path in sources
        for page in re.findall(
            r"\bdocs/[\w/.-]+\.md\b", path.read_text(encoding="utf-8", errors="replace")
        )
    }
    assert sorted((where, page) for where, page in named if not (root / page).is_file()) == []
