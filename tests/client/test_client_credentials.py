"""Credentials: from the bootstrap file or the environment, never shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from certgov.client import Credentials
from certgov.errors import UsageError
from tests.client.clm_fake import CLIENT_ID, CREDS, SECRET, UUID

ENV = {"CERTGOV_UUID": UUID, "CERTGOV_CLIENT_ID": CLIENT_ID, "CERTGOV_CLIENT_SECRET": SECRET}


def write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "bootstrap.json"
    path.write_text(content, encoding="utf-8")
    return path


def test_repr_hides_the_secret() -> None:
    assert repr(CREDS) == (
        f"Credentials(uuid={UUID!r}, client_id={CLIENT_ID!r}, client_secret='***')"
    )


def test_str_hides_the_secret() -> None:
    assert str(CREDS) == repr(CREDS)


def test_loads_the_bootstrap_file(tmp_path: Path) -> None:
    path = write(
        tmp_path, json.dumps({"uuid": UUID, "client_id": CLIENT_ID, "client_secret": SECRET})
    )
    assert Credentials.from_file(path) == CREDS


def test_strips_whitespace_from_file_values(tmp_path: Path) -> None:
    body = {"uuid": f" {UUID}\n", "client_id": CLIENT_ID, "client_secret": f"{SECRET}\n"}
    assert Credentials.from_file(write(tmp_path, json.dumps(body))) == CREDS


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        Credentials.from_file(tmp_path / "nope.json")
    assert info.value.message == (
        f"credentials file {tmp_path / 'nope.json'}: cannot read it (No such file or directory)"
    )


def test_invalid_json_names_the_position_not_the_content(tmp_path: Path) -> None:
    path = write(tmp_path, f'{{"client_secret": "{SECRET}",,}}')
    with pytest.raises(UsageError) as info:
        Credentials.from_file(path)
    assert info.value.message == (
        f"credentials file {path}: not valid JSON (Expecting property name enclosed in double "
        "quotes at line 1)"
    )


def test_a_json_array_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "[]")
    with pytest.raises(UsageError) as info:
        Credentials.from_file(path)
    assert info.value.message == (
        f"credentials file {path}: expected a JSON object with uuid, client_id, client_secret"
    )


def test_missing_fields_are_named(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps({"uuid": UUID, "client_id": "", "client_secret": 5}))
    with pytest.raises(UsageError) as info:
        Credentials.from_file(path)
    assert (
        info.value.message == f"credentials file {path}: missing or empty client_id, client_secret"
    )


def test_loads_from_the_environment() -> None:
    assert Credentials.from_env(ENV) == CREDS


def test_no_environment_variables_means_none() -> None:
    assert Credentials.from_env({"CERTGOV_UUID": "  "}) is None


def test_a_partial_environment_names_the_missing_variables() -> None:
    with pytest.raises(UsageError) as info:
        Credentials.from_env({"CERTGOV_CLIENT_SECRET": SECRET})
    assert info.value.message == "environment: missing or empty CERTGOV_UUID, CERTGOV_CLIENT_ID"


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    assert Credentials.from_env() == CREDS


def test_the_login_body_carries_all_three_fields() -> None:
    assert CREDS.login_body() == {"uuid": UUID, "client_id": CLIENT_ID, "client_secret": SECRET}
