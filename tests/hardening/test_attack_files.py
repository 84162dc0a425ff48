"""Attacks through files on disk (issue 21, points 7 and 10): a world-readable database that
holds the CA's private key and the secret-hashing key, and a secret store outside the
repository."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from certgov.cli.main import cli
from certgov.server import ServerConfigError, Settings, create_app
from tests.server.conftest import FrozenClock, make_harness


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, under which files are created 0644 unless asked otherwise."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


# -- point 7: the SQLite database is private ---------------------------------------------------


def test_the_database_and_its_wal_and_shm_are_created_0600(tmp_path: Path, umask_022: None) -> None:
    db = tmp_path / "server.db"
    h = make_harness(f"sqlite:///{db}", FrozenClock())
    try:
        h.new_account(h.as_admin(), "ci", ["read"])  # writes through the WAL
        files = {
            p.name: mode(p) for p in sorted(tmp_path.iterdir()) if p.name.startswith("server.db")
        }
    finally:
        h.close()
    assert files == {
        "server.db": "0o600",
        "server.db-shm": "0o600",
        "server.db-wal": "0o600",
        "server.db.audit-key": "0o600",
    }


@pytest.mark.parametrize("suffix", ["", "-wal"])
def test_the_server_refuses_a_database_file_others_can_read(
    tmp_path: Path, umask_022: None, suffix: str
) -> None:
    db = tmp_path / "server.db"
    make_harness(f"sqlite:///{db}", FrozenClock()).close()
    opened = Path(f"{db}{suffix}")
    opened.touch()
    opened.chmod(0o644)
    with pytest.raises(ServerConfigError) as refused:
        create_app(Settings(database_url=f"sqlite:///{db}"))
    result = CliRunner().invoke(cli, ["server", "--database", f"sqlite:///{db}", "--port", "0"])
    message = (
        f"the database file {opened} can be read by other users (mode 0644), and it holds the "
        f"CA's private key and the key of the secret digests: run `chmod 600 {opened}`"
    )
    assert str(refused.value) == message
    assert (result.exit_code, result.output) == (1, f"error: {message}\n")


# -- point 10: a file store outside the repository ----------------------------------------------

CONFIG_OUTSIDE = """\
apiVersion: certgov/v1
kind: Config
secret_stores:
  local:
    type: file
    path: ../../..
"""
ACCOUNT = "apiVersion: certgov/v1\nkind: ServiceAccount\nname: ci\nscopes: [read]\n"


def test_a_file_store_outside_the_repository_is_named_by_validate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    repo = tmp_path / "work" / "team" / "infra" / "repo"
    repo.mkdir(parents=True)
    (repo / "certgov.yaml").write_text(CONFIG_OUTSIDE)
    (repo / "ci.yaml").write_text(ACCOUNT)
    text = CliRunner().invoke(cli, ["validate", str(repo)])
    as_json = CliRunner().invoke(cli, ["validate", str(repo), "--format", "json"])
    warning = (
        f"certgov.yaml: secret_stores.local.path '../../..' resolves to {tmp_path / 'work'}, "
        f"outside the repository at {repo}"
    )
    assert (text.exit_code, text.stdout, text.stderr) == (
        0,
        "ok: 1 service account, 0 policies\n",
        f"warning: {warning}\n",
    )
    assert (as_json.exit_code, json.loads(as_json.stdout)["warnings"]) == (0, [warning])
