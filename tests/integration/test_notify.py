"""`--notify`: drift's and apply's results reach a webhook, signed; a dead webhook only warns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from certgov.client import ClmClient, Credentials, canonical_api_root
from certgov.errors import AuthenticationError
from certgov.gitops.notify import signature
from tests.gitops.webhook_fake import webhook
from tests.integration.conftest import LiveServer
from tests.integration.crashrepo import store_records, write_repo


def test_drift_sends_authentication_failures_to_the_webhook_signed(
    live_sqlite: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = write_repo(tmp_path / "repo", 1, 0)
    assert live_sqlite.cli("apply", str(repo), "--auto-approve").exit_code == 0
    record = store_records(repo)["acct-000"]
    for _ in range(3):
        wrong = Credentials(record["uuid"], record["client_id"], "x" * 64)
        with pytest.raises(AuthenticationError), ClmClient(live_sqlite.url, wrong) as client:
            client.verify()
    monkeypatch.setenv("CERTGOV_NOTIFY_KEY", "drift-key")
    with webhook() as hook:
        result = live_sqlite.cli("drift", str(repo), "--notify", hook.url)
    assert result.exit_code == 0, result.output
    (got,) = hook.received
    assert got.headers["X-Certgov-Signature"] == signature("drift-key", got.body)
    body = json.loads(got.body)
    assert (body["event"], body["target"]) == ("drift", canonical_api_root(live_sqlite.url))
    assert body["hygiene"] == [
        {
            "level": "warning",
            "check": "auth-failures",
            "subject": "acct-000",
            "message": "3 failed logins (INVALID_CREDENTIALS) from 127.0.0.1",
        }
    ]


def test_apply_notifies_its_result_and_a_dead_webhook_only_warns(
    live_sqlite: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = write_repo(tmp_path / "repo", 1, 0)
    monkeypatch.setenv("CERTGOV_NOTIFY_KEY", "apply-key")
    with webhook() as hook:
        hook.answers.extend([500, 500, 500, 500])
        result = live_sqlite.cli("apply", str(repo), "--auto-approve", "--notify", hook.url)
    assert result.exit_code == 0, result.output
    host = hook.url.split("/")[2].split(":")[0]
    assert result.stderr.splitlines()[-1] == (
        f"warning: the notification to http://{host}/… failed: HTTP 500 (after 4 attempts)"
    )
    assert len(hook.received) == 4
    body = json.loads(hook.received[0].body)
    assert (body["event"], body["summary"]["created"], body["interrupted"]) == ("apply", 1, False)
    assert record_secret_absent(repo, hook.received[0].body)


def record_secret_absent(repo: Path, body: bytes) -> bool:
    secret = store_records(repo)["acct-000"]["client_secret"]
    return secret.encode() not in body
