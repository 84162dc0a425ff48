"""The reference server, as a separate process, SIGKILLed in the middle of an apply of 50 changes
and started again on the same database: the apply ends with a clear message, and a rerun
converges with no duplicate and every stored secret logging in. On SQLite and on PostgreSQL."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from certgov.cli import cli
from tests.faults.proxy import Fault, FaultProxy, Rule, writes
from tests.faults.test_faults import (
    ACCOUNT_NAMES,
    ACCOUNTS,
    POLICIES,
    POLICY_NAMES,
    assert_clear_outcome,
    assert_converged,
    assert_secrets_log_in,
    certgov,
)
from tests.integration.conftest import free_port
from tests.integration.crashrepo import write_repo

KILL_AT_WRITE = 20


class ServerProcess:
    """`certgov server` on a fixed port; `kill()` then `start()` again on the same database."""

    def __init__(self, database: str, workdir: Path, log_level: str = "warning") -> None:
        self.database = database
        self.log_level = log_level
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "server.log"
        self.audit_key = str(workdir / "audit.key")
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        args = [sys.executable, "-m", "certgov", "server", "--port", str(self.port)]
        args += ["--database", self.database, "--audit-key", self.audit_key]
        args += ["--rate-limit", "0", "--log-level", self.log_level]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        self.starts += 1
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError(f"server did not start: {self.log.read_text()}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextmanager
def server_process(
    database: str, workdir: Path, log_level: str = "warning"
) -> Iterator[tuple[ServerProcess, Path]]:
    admin = workdir / "admin.json"
    args = ["server", "bootstrap-admin", "--database", database]
    args += ["--audit-key", str(workdir / "audit.key")]
    made = CliRunner().invoke(cli, [*args, "--name", "bootstrap-admin", "--out", str(admin)])
    assert made.exit_code == 0, made.output
    server = ServerProcess(database, workdir, log_level)
    server.start()
    try:
        yield server, admin
    finally:
        server.stop()


def kill_then_restart(server: ServerProcess, restarts: list[threading.Thread]) -> None:
    """SIGKILL now, in the middle of in-flight requests; start again a moment later."""
    server.kill()

    def later() -> None:
        time.sleep(0.5)
        server.start()

    thread = threading.Thread(target=later)
    thread.start()
    restarts.append(thread)


def apply_with_a_kill(database: str, tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", ACCOUNTS, POLICIES)
    with server_process(database, tmp_path) as (server, admin):
        restarts: list[threading.Thread] = []
        rule = Rule(
            Fault.CALL,
            writes,
            every=KILL_AT_WRITE,
            limit=1,
            action=lambda: kill_then_restart(server, restarts),
        )
        with FaultProxy(server.url, [rule]) as proxy:
            result = certgov(proxy.url, admin, "apply", str(repo), "--auto-approve")
        for thread in restarts:
            thread.join(timeout=60)
        assert (rule.fired, server.starts) == (1, 2)
        assert_clear_outcome(result)
        assert_converged(server.url, admin, repo, ACCOUNT_NAMES, POLICY_NAMES)
        assert_secrets_log_in(server.url, repo, ACCOUNT_NAMES)
        verify = ["server", "verify-audit", "--database", database, "--audit-key", server.audit_key]
        verified = CliRunner().invoke(cli, verify)
        assert verified.exit_code == 0, verified.output


def test_server_killed_mid_apply_on_sqlite(tmp_path: Path) -> None:
    apply_with_a_kill(f"sqlite:///{tmp_path / 'server.db'}", tmp_path)


@pytest.mark.postgres
def test_server_killed_mid_apply_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    apply_with_a_kill(postgres_url, tmp_path)
