"""Building small declaration repositories in git and running lint on them."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import git
from click.testing import CliRunner, Result

from certgov.cli import cli
from certgov.declarations import load
from certgov.lint import LintReport, lint
from certgov.state import State

NOW = datetime(2026, 12, 1, tzinfo=UTC)
NOW_TEXT = "2026-12-01T00:00:00Z"
ACTOR = git.Actor("certgov tests", "tests@example.invalid")

CONFIG = """\
apiVersion: certgov/v1
kind: Config
server: http://127.0.0.1:8080
secret_stores:
  local: {type: file, path: .certgov-secrets}
"""

GOOD_ACCOUNT = """\
apiVersion: certgov/v1
kind: ServiceAccount
name: {name}
description: {description}
scopes: [read]
ip_allowlist: [203.0.113.0/24]
expires_at: 2027-06-30
secret: {{store: local, path: {name}, rotate_after: 90d}}
"""

GOOD_POLICY = """\
apiVersion: certgov/v1
kind: Policy
name: {name}
enabled: true
matching_criteria:
  action: certificate.generate
  domains: [{domains}]
rules:
  - action: enforce_minimum_key_size
    fail: soft
    values: {{minimum_bits: 2048}}
tests:
  - name: a 3072-bit key passes
    request: {{common_name: {cn}, key: {{algorithm: rsa, size: 3072}}, validity_days: 30}}
    expect: pass
"""


def account(name: str, description: str | None = None) -> str:
    return GOOD_ACCOUNT.format(name=name, description=description or f"The {name} job")


def policy(name: str, domains: str = "api.example.org", cn: str = "api.example.org") -> str:
    return GOOD_POLICY.format(name=name, domains=domains, cn=cn)


def write_repo(root: Path, files: Mapping[str, str], *, config: str = CONFIG) -> Path:
    """A git repository at `root` with certgov.yaml and `files`, all staged, nothing committed."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "certgov.yaml").write_text(config)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    with git.Repo.init(root) as repo:
        repo.git.add("-A")
    return root


def commit_all(root: Path, message: str = "base") -> None:
    with git.Repo(root) as repo:
        repo.git.add("-A")
        repo.index.commit(message, author=ACTOR, committer=ACTOR)


def copy_repo(source: Path, dest: Path, *, commit: bool) -> Path:
    shutil.copytree(source, dest)
    with git.Repo.init(dest) as repo:
        repo.git.add("-A")
        if commit:
            repo.index.commit("base", author=ACTOR, committer=ACTOR)
    return dest


def run_lint(root: Path, base: State | None = None) -> LintReport:
    return lint(load(root), now=NOW, base=base)


def lines(report: LintReport, rule: str | None = None) -> list[str]:
    """The findings as text lines, optionally of one rule only."""
    out = []
    for f in report.findings:
        if rule is None or f.rule == rule:
            loc = f.location
            out.append(f"{loc.file}:{loc.line}:{loc.col}: {f.level} {f.rule} {f.message}")
    return out


def cli_lint(root: Path, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["lint", str(root), "--now", NOW_TEXT, *args], catch_exceptions=False
    )
