"""The real thing: `certgov server` processes over real sockets."""

from __future__ import annotations

import json
import stat
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from certgov.cli.server_cmd import quickstart_text
from certgov.server.auditkey import keyed_store
from certgov.server.bootstrap import bootstrap_admin
from certgov.server.settings import utc_now
from tests.server.processes import CERTGOV, free_port, running

pytestmark = pytest.mark.slow


def login(api: str, creds: dict[str, str], **headers: str) -> httpx.Response:
    return httpx.post(f"{api}/service-account/auth", json=creds, headers=headers, timeout=10)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_server_process_end_to_end(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'e2e.db'}"
    creds_file = tmp_path / "admin.json"
    boot = subprocess.run(
        [
            CERTGOV,
            "server",
            "bootstrap-admin",
            "--database",
            db,
            "--name",
            "root",
            "--out",
            str(creds_file),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    admin_creds = json.loads(creds_file.read_text())
    assert admin_creds["client_secret"] not in boot.stdout + boot.stderr
    port = free_port()
    with running(["--port", str(port), "--database", db], port) as server:
        admin = login(server.api, admin_creds).json()["session"]["token"]
        created = httpx.post(
            f"{server.api}/service/service-accounts",
            json={"name": "ci", "scopes": ["read"]},
            headers=bearer(admin),
        ).json()
        ci_creds = {"uuid": created["data"]["uuid"], **created["credentials"]}
        token = login(server.api, ci_creds).json()["session"]["token"]
        verify = httpx.get(f"{server.api}/service-account/auth/verify", headers=bearer(token))
        revoke = httpx.post(f"{server.api}/service-account/auth/revoke", headers=bearer(token))
        refused = httpx.get(f"{server.api}/service-account/auth/verify", headers=bearer(token))
    assert verify.json()["service_account"]["name"] == "ci"
    assert revoke.json() == {"success": True}
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "INVALID_SESSION")
    for value in (admin_creds["client_secret"], ci_creds["client_secret"], token, admin):
        assert value not in server.stdout + server.stderr
    access = [
        line.split("certgov.server.access: ", 1)[1]
        for line in server.stderr.splitlines()
        if "certgov.server.access: " in line and "/healthz" not in line
    ]
    assert access == [
        '127.0.0.1 "POST /api/v1/service-account/auth" 200',
        '127.0.0.1 "POST /api/v1/service/service-accounts" 201',
        '127.0.0.1 "POST /api/v1/service-account/auth" 200',
        '127.0.0.1 "GET /api/v1/service-account/auth/verify" 200',
        '127.0.0.1 "POST /api/v1/service-account/auth/revoke" 200',
        '127.0.0.1 "GET /api/v1/service-account/auth/verify" 401',
    ]


@pytest.fixture
def allowlisted(tmp_path: Path) -> tuple[str, dict[str, str]]:
    """A database with an admin (for the checks) and an account allowed from 203.0.113.0/24."""
    db = f"sqlite:///{tmp_path / 'xff.db'}"
    store = keyed_store(db, tmp_path / "xff.db.audit-key")
    try:
        admin = bootstrap_admin(store, "root", utc_now())
    finally:
        store.close()
    return db, admin


def create_allowlisted(api: str, admin: dict[str, str]) -> dict[str, str]:
    token = login(api, admin).json()["session"]["token"]
    body = httpx.post(
        f"{api}/service/service-accounts",
        json={"name": "net", "scopes": ["read"], "ip_allowlist": ["203.0.113.0/24"]},
        headers=bearer(token),
    ).json()
    return {"uuid": body["data"]["uuid"], **body["credentials"]}


def test_forwarded_for_is_ignored_without_trusted_proxies(
    allowlisted: tuple[str, dict[str, str]],
) -> None:
    db, admin = allowlisted
    port = free_port()
    with running(["--port", str(port), "--database", db], port) as server:
        creds = create_allowlisted(server.api, admin)
        response = login(server.api, creds, **{"X-Forwarded-For": "203.0.113.5"})
    assert (response.status_code, response.json()["error"]["code"]) == (401, "IP_NOT_ALLOWED")


@pytest.mark.parametrize(
    ("forwarded", "status"),
    [
        ("203.0.113.5", 200),
        ("198.51.100.1, 203.0.113.5", 200),
        ("203.0.113.5, 198.51.100.1", 401),
        ("203.0.113.5, 127.0.0.9", 200),
        ("203.0.113.5, not-an-address", 401),
    ],
    ids=["single", "spoofed-left", "client-right", "trusted-hop-skipped", "garbage"],
)
def test_forwarded_for_from_a_trusted_proxy_uses_the_rightmost_untrusted_hop(
    allowlisted: tuple[str, dict[str, str]], forwarded: str, status: int
) -> None:
    db, admin = allowlisted
    port = free_port()
    args = ["--port", str(port), "--database", db, "--trusted-proxy", "127.0.0.0/8"]
    with running(args, port) as server:
        creds = create_allowlisted(server.api, admin)
        response = login(server.api, creds, **{"X-Forwarded-For": forwarded})
    assert response.status_code == status


def test_server_refuses_to_trust_every_proxy() -> None:
    result = subprocess.run(
        [CERTGOV, "server", "--trusted-proxy", "0.0.0.0/0"], capture_output=True, text=True
    )
    assert (result.returncode, result.stderr) == (
        1,
        "error: --trusted-proxy '0.0.0.0/0' trusts every address; name the proxies' ranges\n",
    )


def test_quickstart_runs_twice_on_the_same_directory(tmp_path: Path) -> None:
    workdir = tmp_path / "qs"
    outputs = []
    statuses = []
    for _ in range(2):
        port = free_port()
        with running(
            ["quickstart", "--workdir", str(workdir), "--port", str(port)], port
        ) as server:
            creds = json.loads((workdir / "admin-credentials.json").read_text())
            statuses.append(login(server.api, creds).status_code)
        outputs.append((server.stdout, port))
    mode = stat.S_IMODE((workdir / "admin-credentials.json").stat().st_mode)
    assert statuses == [200, 200]
    assert mode == 0o600
    assert [out for out, _ in outputs] == [
        quickstart_text(workdir.resolve(), port, workdir.resolve() / "admin-credentials.json")
        + "\n"
        for _, port in outputs
    ]
    assert creds["client_secret"] not in outputs[0][0] + outputs[1][0]


@pytest.mark.postgres
def test_two_processes_on_postgres_keep_names_unique_and_the_chain_whole(
    postgres_url: str, tmp_path: Path
) -> None:
    key = str(tmp_path / "audit.key")
    store = keyed_store(postgres_url, Path(key))
    try:
        admin = bootstrap_admin(store, "root", utc_now())
    finally:
        store.close()
    ports = [free_port(), free_port()]
    results: list[int] = []
    lock = threading.Lock()

    def hammer(api: str, token: str, offset: int) -> None:
        with httpx.Client(headers=bearer(token), timeout=30) as client:
            for i in range(12):
                response = client.post(
                    f"{api}/service/service-accounts",
                    json={"name": f"acct-{(i + offset) % 8}", "scopes": ["read"]},
                )
                with lock:
                    results.append(response.status_code)

    with (
        running(
            ["--port", str(ports[0]), "--database", postgres_url, "--audit-key", key], ports[0]
        ) as one,
        running(
            ["--port", str(ports[1]), "--database", postgres_url, "--audit-key", key], ports[1]
        ) as two,
    ):
        threads = []
        for n, server in enumerate((one, two, one, two)):
            token = login(server.api, admin).json()["session"]["token"]
            threads.append(threading.Thread(target=hammer, args=(server.api, token, n * 3)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    verify = subprocess.run(
        [CERTGOV, "server", "verify-audit", "--database", postgres_url, "--audit-key", key],
        capture_output=True,
        text=True,
    )
    assert sorted(set(results)) == [201, 409]
    assert results.count(201) == 8
    # 1 bootstrap + 4 logins + 8 creates
    assert (verify.returncode, verify.stdout) == (0, "audit chain intact: 13 events\n")
