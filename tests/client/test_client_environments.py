"""Reaching an environment's API: its server before CERTGOV_URL, its credentials_env prefix,
--url and --credentials for the command's own environment only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from certgov.cli.api_options import connector, resolve_credentials, resolve_url, url_note
from certgov.declarations import Endpoint
from certgov.errors import UsageError
from tests.client.clm_fake import CLIENT_ID, CREDS, SECRET, UUID

STAGING = Endpoint("https://staging.test", "staging", "CERTGOV_STAGING_")
STAGING_ENV = {
    "CERTGOV_STAGING_UUID": UUID,
    "CERTGOV_STAGING_CLIENT_ID": CLIENT_ID,
    "CERTGOV_STAGING_CLIENT_SECRET": SECRET,
}


def test_an_environment_s_server_comes_before_certgov_url() -> None:
    env = {"CERTGOV_URL": "https://b.test"}
    assert resolve_url(None, STAGING, env) == "https://staging.test"
    assert url_note(None, STAGING, env) == (
        "note: using the API at https://staging.test from server: of environment staging in "
        "certgov.yaml (CERTGOV_URL says https://b.test)"
    )


def test_url_comes_before_the_environment_s_server() -> None:
    assert resolve_url("https://a.test", STAGING, {}) == "https://a.test"
    assert url_note("https://a.test", STAGING, {}) == (
        "note: using the API at https://a.test from --url (server: of environment staging in "
        "certgov.yaml says https://staging.test)"
    )


def test_an_environment_s_credentials_come_from_its_prefix() -> None:
    assert resolve_credentials(None, STAGING_ENV, "CERTGOV_STAGING_") == CREDS
    with pytest.raises(UsageError) as info:
        resolve_credentials(None, {"CERTGOV_UUID": UUID}, "CERTGOV_STAGING_")
    assert info.value.message == (
        "no credentials: pass --credentials FILE, or set CERTGOV_STAGING_UUID, "
        "CERTGOV_STAGING_CLIENT_ID, CERTGOV_STAGING_CLIENT_SECRET"
    )


def test_credentials_file_comes_before_the_environment_s_prefix(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"uuid": "u", "client_id": "c", "client_secret": "s"}))
    assert resolve_credentials(str(path), STAGING_ENV, "CERTGOV_STAGING_").uuid == "u"


def test_another_environment_is_reached_with_its_own_server_and_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in STAGING_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CERTGOV_URL", "https://b.test")
    connect = connector("https://production.test", str(tmp_path / "missing.json"), 2, "production")
    with connect(STAGING) as client:
        assert (client.server, client.parallelism) == ("https://staging.test", 2)
    with pytest.raises(UsageError) as info:
        connect(Endpoint("https://production.test", "production", "CERTGOV_PRODUCTION_"))
    assert info.value.message == (
        f"credentials file {tmp_path / 'missing.json'}: cannot read it (No such file or directory)"
    )
