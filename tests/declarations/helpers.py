"""Paths and small builders shared by the declaration tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
QUICKSTART = EXAMPLES / "quickstart"
INVALID = EXAMPLES / "invalid"
GOLDEN = Path(__file__).resolve().parent / "golden"

CONFIG = "apiVersion: certgov/v1\nkind: Config\nsecret_stores:\n  local: {type: file, path: .s}\n"


def write_repo(root: Path, files: dict[str, str | bytes], *, config: str = CONFIG) -> Path:
    """A declarations repository under `root` with certgov.yaml and `files`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "certgov.yaml").write_text(config, encoding="utf-8")
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return root
