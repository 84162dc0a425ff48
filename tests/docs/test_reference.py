"""The generated reference pages match what runs: the click commands and the JSON Schemas."""

from __future__ import annotations

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
