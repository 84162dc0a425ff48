"""Secret stores that fail during apply (a file where the store's folder should be, a command
that exits 1, a Secrets Manager endpoint that went away, a Key Vault or Secret Manager fake whose
identity may not write): apply says which secret was generated
but not stored, exits 1, and a rerun once the store is back converges with secrets that log in."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.faults.test_faults import assert_converged, assert_secrets_log_in, certgov
from tests.integration.conftest import LiveServer
from tests.integration.crashrepo import record_login_failures, write_repo
from tests.loopback import ThrowawayCA
from tests.stores.cloud import account_records, running

ACCOUNTS = [f"acct-{i:03}" for i in range(6)]
POLICIES = ["pol000", "pol001"]
NOT_STORED = (
    "error: secret for {name} was generated but not stored: {why}; run apply again to regenerate it"
)


def failure_lines(output: str) -> list[str]:
    return sorted(line for line in output.splitlines() if " FAILED: " in line)


def test_file_store_whose_folder_is_a_file(live: LiveServer, tmp_path: Path) -> None:
    """Running as root, a read-only folder would still be writable: a plain file where the
    folder belongs fails every write the same way for every user."""
    repo = write_repo(tmp_path / "repo", len(ACCOUNTS), len(POLICIES))
    plan_file = tmp_path / "plan.json"
    planned = certgov(live.url, live.admin, "plan", str(repo), "--out", str(plan_file))
    assert planned.exit_code == 0, planned.output
    blocker = repo / ".certgov-secrets" / "accounts"
    blocker.parent.mkdir()
    blocker.write_text("a file where the store's folder belongs\n")
    result = certgov(live.url, live.admin, "apply", str(plan_file))
    assert result.exit_code == 1, result.output
    assert failure_lines(result.output) == [
        f"ServiceAccount/{name}: create FAILED: secret for {name} was generated but not stored:"
        f" file store 'local': cannot write '{blocker}/{name}.json': Not a directory"
        " (gave up after 3 attempts); run apply again to regenerate it"
        for name in ACCOUNTS
    ]
    replanned = certgov(live.url, live.admin, "plan", str(repo))
    assert (replanned.exit_code, replanned.output) == (
        1,
        f"error: file store 'local': cannot read '{blocker}/acct-000.json': Not a directory\n",
    )
    blocker.unlink()
    assert_converged(live.url, live.admin, repo, ACCOUNTS, POLICIES)
    assert_secrets_log_in(live.url, repo, ACCOUNTS)


COMMAND_STORE = """import json, pathlib, sys
root = pathlib.Path.cwd()
operation, path = sys.argv[1], sys.argv[2]
target = root / ".certgov-secrets" / (path + ".json")
if operation == "read-meta":
    if target.exists():
        print(target.read_text())
    sys.exit(0)
if (root / "SEALED").exists():
    print("the password manager is sealed", file=sys.stderr)
    sys.exit(1)
target.parent.mkdir(parents=True, exist_ok=True)
target.write_text(sys.stdin.read())
"""


def test_command_store_that_exits_1(live: LiveServer, tmp_path: Path) -> None:
    script = tmp_path / "store.py"
    script.write_text(COMMAND_STORE)
    store = json.dumps({"type": "command", "command": [sys.executable, str(script)]})
    repo = write_repo(tmp_path / "repo", len(ACCOUNTS), len(POLICIES), store)
    (repo / "SEALED").write_text("")
    result = certgov(live.url, live.admin, "apply", str(repo), "--auto-approve")
    assert result.exit_code == 1, result.output
    assert failure_lines(result.output) == [
        f"ServiceAccount/{name}: create FAILED: secret for {name} was generated but not stored:"
        f" command store 'local': write 'accounts/{name}' failed with exit status 1: the"
        " password manager is sealed (gave up after 3 attempts); run apply again to regenerate it"
        for name in ACCOUNTS
    ]
    (repo / "SEALED").unlink()
    assert_converged(live.url, live.admin, repo, ACCOUNTS, POLICIES)
    assert_secrets_log_in(live.url, repo, ACCOUNTS)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def moto(aws_env: None) -> Iterator[list[ThreadedMotoServer]]:
    """A moto server on a free port, in a list so that a test can stop and restart it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    servers = [server]
    yield servers
    servers[-1].stop()


def aws_records(url: str) -> dict[str, dict[str, Any]]:
    client = boto3.session.Session().client(
        "secretsmanager", region_name="eu-west-1", endpoint_url=url
    )
    try:
        names = [s["Name"] for s in client.list_secrets()["SecretList"]]
        return {
            name.rsplit("/", 1)[-1]: json.loads(
                client.get_secret_value(SecretId=name)["SecretString"]
            )
            for name in names
        }
    finally:
        client.close()


def test_aws_store_whose_endpoint_stopped(
    live: LiveServer, tmp_path: Path, moto: list[ThreadedMotoServer]
) -> None:
    host, port = moto[0].get_host_and_port()
    url = f"http://{host}:{port}"
    store = json.dumps(
        {"type": "aws", "region": "eu-west-1", "prefix": "certgov/", "endpoint_url": url}
    )
    repo = write_repo(tmp_path / "repo", len(ACCOUNTS), len(POLICIES), store)
    plan_file = tmp_path / "plan.json"
    planned = certgov(live.url, live.admin, "plan", str(repo), "--out", str(plan_file))
    assert planned.exit_code == 0, planned.output
    moto[0].stop()
    result = certgov(live.url, live.admin, "apply", str(plan_file))
    assert result.exit_code == 1, result.output
    assert failure_lines(result.output) == [
        f"ServiceAccount/{name}: create FAILED: secret for {name} was generated but not stored:"
        f" aws store 'local': cannot write 'certgov/accounts/{name}': cannot reach {url}:"
        " EndpointConnectionError (gave up after 3 attempts); run apply again to regenerate it"
        for name in ACCOUNTS
    ]
    replanned = certgov(live.url, live.admin, "plan", str(repo))
    assert (replanned.exit_code, replanned.output) == (
        1,
        f"error: aws store 'local': cannot read 'certgov/accounts/acct-000': cannot reach {url}:"
        " EndpointConnectionError\n",
    )
    restarted = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    restarted.start()
    moto.append(restarted)
    assert_converged(live.url, live.admin, repo, ACCOUNTS, POLICIES)
    records = aws_records(url)
    assert sorted(records) == ACCOUNTS
    assert record_login_failures(live.url, records) == []


@pytest.mark.parametrize(
    ("kind", "why"),
    [
        (
            "azure-keyvault",
            "azure-keyvault store 'local': cannot write 'accounts-{name}': permission denied for"
            " Microsoft.KeyVault/vaults/secrets/setSecret/action: give the identity the role"
            " 'Key Vault Secrets Officer' on the vault (with access policies: the secret"
            " permissions get, list, set and recover)",
        ),
        (
            "gcp-secret-manager",
            "gcp-secret-manager store 'local': cannot write"
            " 'projects/certgov-test/secrets/accounts-{name}': permission denied: the identity"
            " needs secretmanager.versions.add on project certgov-test"
            " (roles/secretmanager.secretVersionAdder grants it)",
        ),
    ],
)
def test_cloud_store_that_refuses_writes(
    live: LiveServer,
    tmp_path: Path,
    tls_ca: ThrowawayCA,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    why: str,
) -> None:
    """The identity may read (plan works) but not write: every secret is generated but not
    stored, the next plan rotates each, and once the role is granted apply converges."""
    with running(kind, tls_ca, tmp_path) as cloud:
        for name, value in cloud.env.items():
            monkeypatch.setenv(name, value)
        cloud.may_write(False)
        repo = write_repo(tmp_path / "repo", len(ACCOUNTS), len(POLICIES), cloud.config)
        result = certgov(live.url, live.admin, "apply", str(repo), "--auto-approve")
        assert result.exit_code == 1, result.output
        assert failure_lines(result.output) == [
            f"ServiceAccount/{name}: create FAILED: secret for {name} was generated but not"
            f" stored: {why.format(name=name)}; run apply again to regenerate it"
            for name in ACCOUNTS
        ]
        replanned = certgov(live.url, live.admin, "plan", str(repo), "--format", "json")
        changes = json.loads(replanned.output)["changes"]
        assert [(c["action"], c["name"]) for c in changes] == [
            ("rotate", name) for name in ACCOUNTS
        ]
        cloud.may_write(True)
        assert_converged(live.url, live.admin, repo, ACCOUNTS, POLICIES)
        records = account_records(cloud)
        assert sorted(records) == ACCOUNTS
        assert record_login_failures(live.url, records) == []
