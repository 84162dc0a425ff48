"""The README's first command, in a fresh virtual environment: install, then `certgov demo`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def readme_demo_line() -> str:
    for line in (REPO / "README.md").read_text().splitlines():
        if line.startswith("python3 -m venv .venv ") and line.endswith("certgov demo"):
            return line
    raise AssertionError("README.md does not start with the demo command")


@pytest.mark.slow
def test_readme_first_command_runs_the_demo(tmp_path: Path) -> None:
    line = readme_demo_line()
    # The same command, run from a copy-free checkout: the venv goes to tmp, the demo's workdir too.
    command = line.replace(".venv", str(tmp_path / "venv")).replace("python3", sys.executable, 1)
    command = command.replace("'.[server]'", f"'{REPO}[server]'")
    command += f" --workdir {tmp_path / 'demo'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CERTGOV_", "VIRTUAL_ENV"))}
    result = subprocess.run(
        command,
        shell=True,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    headings = re.findall(r"^━━ (\d+)\. ", result.stdout, flags=re.MULTILINE)
    assert headings == [str(n) for n in range(1, 10)]
    assert re.search(r"^Demo complete in \d+\.\d s\.$", result.stdout, flags=re.MULTILINE)
    demo = tmp_path / "demo"
    admins = ["admin-credentials.json", "staging-admin.json", "production-admin.json"]
    secrets = [json.loads((demo / name).read_text())["client_secret"] for name in admins]
    for store in (demo / "repo" / ".certgov-secrets", demo / "environments" / ".certgov-secrets"):
        for record in store.rglob("*.json"):
            secrets.append(json.loads(record.read_text())["client_secret"])
    # Three admins, the quickstart's three accounts, two accounts in staging, one in production.
    assert len(secrets) == 9
    assert [s for s in secrets if s in output] == []
