"""The reference server as a separate process (so that it never shares a GIL with what is
measured), on a fresh SQLite file or a fresh PostgreSQL database, with a bootstrapped admin."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

AUDIT_KEY = "audit.key"  # beside admin.json in the workdir
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def fresh_database(workdir: Path, postgres: bool) -> Iterator[str]:
    """A database URL for one server: a new SQLite file, or a new PostgreSQL database that is
    dropped afterwards."""
    if not postgres:
        yield f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:8]}.db'}"
        return
    from sqlalchemy import create_engine, text

    name = f"certgov_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@dataclass
class RunningServer:
    url: str
    database_url: str
    admin_file: Path
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bootstrap(database_url: str, admin_file: Path) -> dict[str, str]:
    """Create the schema and the admin account through the store; write its credentials file
    (and the audit key, `audit.key` beside it)."""
    from benchmarks.generate import ADMIN_NAME
    from certgov.server.auditkey import keyed_store
    from certgov.server.bootstrap import bootstrap_admin
    from certgov.server.settings import utc_now

    store = keyed_store(database_url, admin_file.parent / AUDIT_KEY)
    try:
        creds = bootstrap_admin(store, ADMIN_NAME, utc_now(), 30)
    finally:
        store.close()
    admin_file.write_text(json.dumps(creds))
    os.chmod(admin_file, 0o600)
    return creds


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the reference server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the reference server did not answer /healthz in time")


def server_argv(database_url: str, port: int, audit_key: Path, rtt_ms: float = 0) -> list[str]:
    """`certgov server` as a process, the rate limit off (the load figures would be its); with
    `rtt_ms`, behind a simulated network round trip (benchmarks/delayed.py)."""
    launcher = ["benchmarks.delayed", str(rtt_ms)] if rtt_ms else ["certgov"]
    return [
        sys.executable,
        "-m",
        *launcher,
        "server",
        "--database",
        database_url,
        "--audit-key",
        str(audit_key),
        "--port",
        str(port),
        "--rate-limit",
        "0",
        "--log-level",
        "warning",
    ]


@contextmanager
def start_server(database_url: str, workdir: Path, rtt_ms: float = 0) -> Iterator[RunningServer]:
    """`python -m certgov server` on a free port with the rate limit off; stopped afterwards.

    The database must exist and be bootstrapped already (see `bootstrap`)."""
    port = free_port()
    log = (workdir / f"server-{port}.log").open("wb")
    argv = server_argv(database_url, port, workdir / AUDIT_KEY, rtt_ms)
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc)
        yield RunningServer(url, database_url, workdir / "admin.json", proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
