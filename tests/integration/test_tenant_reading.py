"""`certgov plan` reads the live tenant on a thread while the declarations load: the round trips
hide behind the parsing, and nothing a user sees changes (the declarations' problems still come
first, the session is still revoked)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from certgov.apply.stores import FileStore, RecordMeta
from certgov.cli import cli
from certgov.client import ClmClient, Credentials
from certgov.declarations import loader
from certgov.declarations.config import Endpoint
from certgov.errors import DeclarationError, SecretStoreError
from certgov.run import facts
from certgov.run.plan import plan_folder
from tests.integration.conftest import LiveServer, free_port
from tests.integration.crashrepo import write_repo


class RecordingClient(ClmClient):
    """A real client that records when its `with` block ends (the session is revoked then)."""

    closed: list[str] = []

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self.closed.append(self.server)


def connector(server: LiveServer) -> Any:
    def connect(endpoint: Endpoint) -> ClmClient:
        return RecordingClient(server.url, Credentials.from_file(server.admin))

    return connect


@pytest.fixture
def read_alongside(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading a declaration file waits until the tenant is being read: had the tenant been
    read after loading, it would wait in vain (and fail after 10 s)."""
    reading = threading.Event()
    read_tenant = facts.read_tenant
    declared = loader._Load.declared

    def tenant(client: ClmClient) -> facts.Tenant:
        reading.set()
        return read_tenant(client)

    def files_read_after_the_tenant_is_asked_for(self: loader._Load, files: list[str]) -> Any:
        assert reading.wait(10), "the tenant was not being read while the files were"
        return declared(self, files)

    monkeypatch.setattr(facts, "read_tenant", tenant)
    monkeypatch.setattr(loader._Load, "declared", files_read_after_the_tenant_is_asked_for)


@pytest.mark.usefixtures("read_alongside")
def test_the_tenant_is_read_while_the_declaration_files_are(
    live_sqlite: LiveServer, tmp_path: Path
) -> None:
    repo = write_repo(tmp_path / "repo", 2, 1)
    RecordingClient.closed = []
    run = plan_folder(str(repo), connector(live_sqlite))
    assert [(c.address, c.action) for c in run.document.changes] == [
        ("Policy/pol000", "create"),
        ("ServiceAccount/acct-000", "create"),
        ("ServiceAccount/acct-001", "create"),
    ]
    assert RecordingClient.closed == [live_sqlite.url]


@pytest.mark.usefixtures("read_alongside")
def test_apply_of_a_folder_reads_the_tenant_while_loading_too(
    live_sqlite: LiveServer, tmp_path: Path
) -> None:
    repo = write_repo(tmp_path / "repo", 2, 0)
    result = live_sqlite.cli("apply", str(repo), "--auto-approve")
    assert result.exit_code == 0, result.stderr
    with live_sqlite.client() as client:
        assert [a["name"] for a in client.list_service_accounts()] == [
            "acct-000",
            "acct-001",
            "bootstrap-admin",
        ]


def test_the_declarations_problems_come_before_the_servers(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", 1, 0)
    (repo / "broken.yaml").write_text(
        "apiVersion: certgov/v1\nkind: ServiceAccount\nname: broken\nscopes: [root]\n"
    )
    creds = tmp_path / "creds.json"
    creds.write_text('{"uuid": "u", "client_id": "c", "client_secret": "s"}')
    unreachable = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(
        cli, ["plan", str(repo), "--url", unreachable, "--credentials", str(creds)]
    )
    assert result.exit_code == 1
    assert result.stderr == (
        "error: 1 problem in the declarations\n"
        f"  {repo}/broken.yaml:4:10: scopes[0]: 'root' is not one of ['read', 'write', 'admin']\n"
    )


def test_the_session_is_revoked_when_the_declarations_are_refused(
    live_sqlite: LiveServer, tmp_path: Path
) -> None:
    repo = write_repo(tmp_path / "repo", 1, 0)
    (repo / "broken.yaml").write_text("apiVersion: certgov/v1\nkind: ServiceAccount\n")
    RecordingClient.closed = []
    with pytest.raises(DeclarationError) as refused:
        plan_folder(str(repo), connector(live_sqlite))
    assert [p.message for p in refused.value.problems] == [
        "'name' is a required property",
        "'scopes' is a required property",
    ]
    assert RecordingClient.closed == [live_sqlite.url]


def test_the_servers_error_is_raised_once_the_declarations_are_fine(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", 1, 0)

    def connect(endpoint: Endpoint) -> ClmClient:
        raise RuntimeError("no route to the tenant")

    with pytest.raises(RuntimeError, match="no route to the tenant"):
        plan_folder(str(repo), connect)


def test_the_file_stores_records_are_read_in_one_walk_while_the_files_load(
    live_sqlite: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = write_repo(tmp_path / "repo", 3, 0)
    assert live_sqlite.cli("apply", str(repo), "--auto-approve").exit_code == 0
    walks: list[str] = []
    lookups: list[str] = []
    read_all_meta, read_meta = FileStore.read_all_meta, FileStore.read_meta

    def walk(self: FileStore) -> dict[str, RecordMeta]:
        walks.append(threading.current_thread().name)
        return read_all_meta(self)

    def lookup(self: FileStore, path: str) -> RecordMeta | None:
        lookups.append(path)
        return read_meta(self, path)

    monkeypatch.setattr(FileStore, "read_all_meta", walk)
    monkeypatch.setattr(FileStore, "read_meta", lookup)

    run = plan_folder(str(repo), connector(live_sqlite))
    assert (run.document.changes, walks, lookups) == ((), ["certgov-records"], [])

    # A record that does not read cleanly is looked up on its own, and its error reported.
    record = repo / ".certgov-secrets" / "accounts" / "acct-001.json"
    record.write_text("[1, 2]")
    walks.clear()
    with pytest.raises(SecretStoreError) as refused:
        plan_folder(str(repo), connector(live_sqlite))
    assert refused.value.message == f"file store 'local': {str(record)!r} is not a JSON object"
    assert (walks, lookups) == (["certgov-records"], ["accounts/acct-001"])
