"""plan → apply → plan on service accounts against the real reference server."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest

from certgov.client import ClmClient, Credentials
from certgov.errors import AuthenticationError
from certgov.resources import data_dir
from tests.expected import no_changes, url_note
from tests.integration.conftest import LiveServer


def accounts_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    quickstart = data_dir("examples") / "quickstart"
    shutil.copy(quickstart / "certgov.yaml", repo / "certgov.yaml")
    shutil.copytree(quickstart / "service-accounts", repo / "service-accounts")
    return repo


def test_plan_apply_plan_converges_and_stores_working_secrets(
    live: LiveServer, tmp_path: Path
) -> None:
    repo = accounts_repo(tmp_path)
    first = live.cli("plan", str(repo), "--detailed-exitcode")
    assert first.exit_code == 2, first.output
    assert first.stdout.splitlines()[-2:] == [
        "Plan: 3 to create, 0 to update, 0 to delete.",
        "Also: 1 ignored.",
    ]

    applied = live.cli("apply", str(repo), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert applied.stdout.splitlines()[-1] == "Apply complete: 3 created, 0 updated, 0 failed."
    assert applied.stderr.splitlines() == [url_note(live.url)]

    again = live.cli("plan", str(repo), "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert again.stdout == no_changes(live.url, "3 unchanged, 1 ignored")

    store = repo / ".certgov-secrets"
    records = sorted(p.name for p in store.glob("*.json"))
    assert records == ["admin-automation.json", "ci-policy-validation.json", "policy-pipeline.json"]
    for path in store.glob("*.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        record = json.loads(path.read_text())
        assert record["server_url"] == live.url
        assert set(record) == {
            "uuid",
            "client_id",
            "client_secret",
            "secret_created_at",
            "server_url",
        }
        # The quickstart allowlists keep loopback out; the server checks the secret before the
        # address, so IP_NOT_ALLOWED proves that the stored secret is the right one.
        with (
            pytest.raises(AuthenticationError) as refused,
            ClmClient(live.url, Credentials.from_file(path)) as client,
        ):
            client.verify()
        assert refused.value.code == "IP_NOT_ALLOWED"
