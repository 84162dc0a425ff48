"""Fixtures for the server tests: a frozen clock, the app over SQLite and PostgreSQL, and a
synchronous httpx client that talks to the ASGI app in-process."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, make_url, text

from certgov.server import Settings, create_app
from certgov.server.bootstrap import bootstrap_admin
from certgov.server.store import Store
from certgov.server.store import schema as tables

T0 = datetime(2026, 3, 25, 10, 0, 0, tzinfo=UTC)


class FrozenClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class SyncASGITransport(httpx.BaseTransport):
    """Drives an ASGI app from a synchronous httpx.Client on a private event loop."""

    def __init__(self, app: Any, client: tuple[str, int]) -> None:
        self.loop = asyncio.new_event_loop()
        self.inner = httpx.ASGITransport(app=app, client=client)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        forwarded = httpx.Request(
            request.method, request.url, headers=request.headers, content=body
        )

        async def call() -> tuple[int, httpx.Headers, bytes]:
            response = await self.inner.handle_async_request(forwarded)
            content = b"".join([chunk async for chunk in response.aiter_bytes()])
            await response.aclose()
            return response.status_code, response.headers, content

        status, headers, content = self.loop.run_until_complete(call())
        return httpx.Response(status, headers=headers, content=content, request=request)

    def close(self) -> None:
        self.loop.close()


# -- databases ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def server_pg_url() -> Iterator[str]:
    """One PostgreSQL database for the whole server suite; tests empty it between them."""
    base = os.environ.get("CERTGOV_TEST_POSTGRES")
    required = os.environ.get("CERTGOV_REQUIRE_POSTGRES") == "1"
    if not base:
        if required:
            pytest.fail("CERTGOV_REQUIRE_POSTGRES=1 but CERTGOV_TEST_POSTGRES is unset")
        pytest.skip("CERTGOV_TEST_POSTGRES is not set")
    url = make_url(base)
    name = f"certgov_srv_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        if required:
            pytest.fail(f"PostgreSQL is required here but did not answer: {exc}")
        pytest.skip(f"PostgreSQL not available: {exc}")
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def empty_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            existing = set(
                conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                ).scalars()
            )
            # Tests that break the audit log on purpose leave a trigger behind.
            conn.execute(text("DROP FUNCTION IF EXISTS no_audit() CASCADE"))
            names = [t for t in tables.metadata.tables if t in existing]
            if names:
                quoted = ", ".join(f'"{n}"' for n in names)
                conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database URL, once per database kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'server.db'}"
    url: str = request.getfixturevalue("server_pg_url")
    empty_postgres(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'server.db'}"


# -- the app and its clients ----------------------------------------------------------------------


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@dataclass
class Harness:
    """An app plus helpers to log in and call it as some account from some address."""

    app: Any
    clock: FrozenClock
    admin_credentials: dict[str, str]
    _clients: list[httpx.Client] = field(default_factory=list)

    @property
    def store(self) -> Store:
        store: Store = self.app.state.server.store
        return store

    @property
    def audit_key(self) -> bytes:
        key = self.store.audit_key
        assert key is not None
        return key

    @property
    def audit_key_file(self) -> str:
        return str(self.app.state.server.settings.audit_key_path)

    def client(self, ip: str = "127.0.0.1", token: str | None = None) -> httpx.Client:
        transport = SyncASGITransport(self.app, (ip, 40000))
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.Client(
            transport=transport, base_url="http://testserver/api/v1", headers=headers
        )
        self._clients.append(client)
        return client

    def login(self, credentials: dict[str, str], ip: str = "127.0.0.1") -> str:
        response = self.client(ip).post("/service-account/auth", json=credentials)
        assert response.status_code == 200, response.text
        token: str = response.json()["session"]["token"]
        return token

    def as_admin(self, ip: str = "127.0.0.1") -> httpx.Client:
        return self.client(ip, self.login(self.admin_credentials, ip))

    def new_account(
        self, admin: httpx.Client, name: str, scopes: list[str], **extra: Any
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Create an account; answer (account object, its login body)."""
        response = admin.post(
            "/service/service-accounts", json={"name": name, "scopes": scopes, **extra}
        )
        assert response.status_code == 201, response.text
        body = response.json()
        account = body["data"]
        return account, {"uuid": account["uuid"], **body["credentials"]}

    def events(self) -> list[dict[str, Any]]:
        with self.store.transaction() as tx:
            return list(tx.audit.in_order())

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self.store.close()


def make_harness(url: str, clock: FrozenClock, **settings: Any) -> Harness:
    """The app over `url` with an admin account (on PostgreSQL, name its `audit_key_file`)."""
    settings.setdefault("rate_limit", 0)
    app = create_app(Settings(database_url=url, clock=clock, **settings))
    credentials = bootstrap_admin(app.state.server.store, "root", clock())
    return Harness(app, clock, credentials)


@pytest.fixture
def harness_factory(clock: FrozenClock, tmp_path: Path) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(url: str, **settings: Any) -> Harness:
        if not url.startswith("sqlite"):
            settings.setdefault("audit_key_file", str(tmp_path / f"audit-{len(made)}.key"))
        harness = make_harness(url, clock, **settings)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()


@pytest.fixture
def h(db_url: str, harness_factory: Callable[..., Harness]) -> Harness:
    """The harness over each database kind."""
    return harness_factory(db_url)


@pytest.fixture
def hs(sqlite_url: str, harness_factory: Callable[..., Harness]) -> Harness:
    """The harness over SQLite only, for behaviour that does not depend on the database."""
    return harness_factory(sqlite_url)
