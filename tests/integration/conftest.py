"""The real reference server on a free loopback port (uvicorn in a thread), a fresh database per
test, a bootstrapped admin, and the real CLI run in-process against it."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn
from click.testing import CliRunner, Result

from certgov.cli import cli
from certgov.client import ClmClient, Credentials
from certgov.resources import data_dir
from certgov.server import Settings, create_app
from certgov.server.bootstrap import bootstrap_admin
from tests.loopback import ThrowawayCA

if TYPE_CHECKING:
    from tests.stores.cloud import CloudStore


class ShiftedClock:
    """Real time plus an offset that tests can move forward."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class LiveServer:
    url: str
    database_url: str
    admin: Path
    clock: ShiftedClock
    workdir: Path

    def cli(self, *args: str, input: str | None = None, creds: Path | None = None) -> Result:
        """Run `certgov ARGS` in-process against this server."""
        full = [*args, "--url", self.url, "--credentials", str(creds or self.admin)]
        return CliRunner().invoke(cli, full, input=input, catch_exceptions=False)

    def client(self, creds: Path | None = None) -> ClmClient:
        return ClmClient(self.url, Credentials.from_file(creds or self.admin))

    def new_credentials(self, name: str, scopes: list[str]) -> Path:
        """A new account made through the API; its credentials file in the workdir."""
        with self.client() as client:
            result = client.create_service_account({"name": name, "scopes": scopes})
        assert result.credentials is not None
        path = self.workdir / f"{name}.json"
        path.write_text(
            json.dumps(
                {
                    "uuid": result.data["uuid"],
                    "client_id": result.credentials.client_id,
                    "client_secret": result.credentials.client_secret,
                }
            )
        )
        return path


def start_server(database_url: str, workdir: Path, **settings: Any) -> Iterator[LiveServer]:
    clock = ShiftedClock()
    settings.setdefault("audit_key_file", str(workdir / "audit.key"))
    config = Settings(database_url=database_url, clock=clock, rate_limit=0, **settings)
    app = create_app(config)
    creds = bootstrap_admin(app.state.server.store, "bootstrap-admin", clock())
    admin = workdir / "admin.json"
    admin.write_text(json.dumps(creds))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            proxy_headers=False,
            access_log=False,
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the reference server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", database_url, admin, clock, workdir)
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    """The reference server over a fresh SQLite file, and over a fresh PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'server.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    yield from start_server(url, tmp_path)


@pytest.fixture
def live_sqlite(tmp_path: Path) -> Iterator[LiveServer]:
    """The reference server over a fresh SQLite file only (for tests that need one database)."""
    yield from start_server(f"sqlite:///{tmp_path / 'server.db'}", tmp_path)


@pytest.fixture
def other_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A second reference server, another tenant (for plans made for one and applied to it)."""
    other = tmp_path / "other"
    other.mkdir()
    yield from start_server(f"sqlite:///{other / 'server.db'}", other)


def copy_example(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(data_dir("examples") / name, target)
    return target


@pytest.fixture
def cloud(
    request: pytest.FixtureRequest,
    tls_ca: ThrowawayCA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[CloudStore]:
    """The fake of the cloud secret store named by the test's parameter, on loopback, with the
    environment a process needs to get a token from it with no stored secret."""
    from tests.stores.cloud import running

    with running(request.param, tls_ca, tmp_path) as store:
        for name, value in store.env.items():
            monkeypatch.setenv(name, value)
        yield store
