"""The example repositories: every YAML file names its schema, and the schema exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.declarations.helpers import EXAMPLES

PREFIX = "# yaml-language-server: $schema="
# examples/github holds GitHub workflows, not declarations: tests/gitops checks those.
YAML_FILES = sorted(
    p
    for p in EXAMPLES.rglob("*")
    if p.suffix in (".yaml", ".yml")
    and p.is_file()
    and "github" not in p.relative_to(EXAMPLES).parts
)


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_example_yaml_starts_with_a_schema_line_that_resolves(path: Path) -> None:
    first = path.read_bytes().split(b"\n", 1)[0].decode("ascii")
    assert first.startswith(PREFIX)
    schema = (path.parent / first[len(PREFIX) :]).resolve()
    assert schema.is_file(), f"{path}: {schema} does not exist"
    assert schema.parent == (EXAMPLES.parent / "schemas").resolve()
