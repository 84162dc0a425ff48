"""certgov.cli.api_options: --url / --credentials / --parallelism and how they open a client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
from click.testing import CliRunner

from certgov.cli.api_options import (
    api_options,
    open_client,
    resolve_credentials,
    resolve_url,
    url_note,
)
from certgov.errors import UsageError
from tests.client.clm_fake import CLIENT_ID, CREDS, SECRET, UUID, FakeApi

ENV = {"CERTGOV_UUID": UUID, "CERTGOV_CLIENT_ID": CLIENT_ID, "CERTGOV_CLIENT_SECRET": SECRET}


@pytest.mark.parametrize(
    ("url_opt", "env", "config", "expected"),
    [
        ("https://a.test", {"CERTGOV_URL": "https://b.test"}, "https://c.test", "https://a.test"),
        (None, {"CERTGOV_URL": "https://b.test"}, "https://c.test", "https://b.test"),
        (None, {}, "https://c.test", "https://c.test"),
        ("", {"CERTGOV_URL": " "}, " http://c.test/api/v1 ", "http://c.test/api/v1"),
    ],
    ids=["option", "environment", "config", "blanks-skipped"],
)
def test_url_precedence(
    url_opt: str | None, env: dict[str, str], config: str, expected: str
) -> None:
    assert resolve_url(url_opt, config, env) == expected


def test_no_url_anywhere_says_where_to_set_one() -> None:
    with pytest.raises(UsageError) as info:
        resolve_url(None, None, {})
    assert (
        info.value.message
        == "no API URL: pass --url, set CERTGOV_URL, or set server: in certgov.yaml"
    )


def test_a_url_without_http_scheme_is_refused() -> None:
    with pytest.raises(UsageError) as info:
        resolve_url(None, None, {"CERTGOV_URL": "clm.example.com"})
    assert info.value.message == "CERTGOV_URL: 'clm.example.com' is not an http(s) URL"


def test_credentials_file_wins_over_environment(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"uuid": "u", "client_id": "c", "client_secret": "s"}))
    assert resolve_credentials(str(path), ENV).uuid == "u"


def test_credentials_from_environment() -> None:
    assert resolve_credentials(None, ENV) == CREDS


def test_no_credentials_anywhere_says_where_to_set_them() -> None:
    with pytest.raises(UsageError) as info:
        resolve_credentials(None, {})
    assert info.value.message == (
        "no credentials: pass --credentials FILE, or set CERTGOV_UUID, CERTGOV_CLIENT_ID, "
        "CERTGOV_CLIENT_SECRET"
    )


def test_open_client_talks_to_the_resolved_server() -> None:
    fake = FakeApi()
    with open_client(
        None, None, "http://clm.test", 3, environ=ENV, transport=httpx.MockTransport(fake)
    ) as client:
        info = client.verify()
    assert (client.server, client.parallelism, info.account_uuid, fake.revoked) == (
        "http://clm.test",
        3,
        UUID,
        ["token1"],
    )


def make_command(seen: dict[str, Any]) -> click.Command:
    @click.command()
    @api_options
    def talk(url: str | None, credentials: str | None, parallelism: int) -> None:
        seen.update(url=url, credentials=credentials, parallelism=parallelism)

    return talk


def test_the_decorator_adds_the_three_options(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}
    result = CliRunner().invoke(
        make_command(seen),
        ["--url", "http://x.test", "--credentials", str(tmp_path / "c.json"), "--parallelism", "4"],
    )
    assert (result.exit_code, seen) == (
        0,
        {"url": "http://x.test", "credentials": str(tmp_path / "c.json"), "parallelism": 4},
    )


def test_the_decorator_defaults(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}
    result = CliRunner().invoke(make_command(seen), [])
    assert (result.exit_code, seen) == (0, {"url": None, "credentials": None, "parallelism": 8})


def test_parallelism_must_be_positive() -> None:
    result = CliRunner().invoke(make_command({}), ["--parallelism", "0"])
    assert result.exit_code == 2


@pytest.mark.parametrize(
    ("url_opt", "env", "config", "expected"),
    [
        (
            "https://a.test",
            {"CERTGOV_URL": "https://b.test"},
            "https://c.test",
            "note: using the API at https://a.test from --url (CERTGOV_URL says https://b.test; "
            "server: in certgov.yaml says https://c.test)",
        ),
        (
            None,
            {"CERTGOV_URL": "https://b.test"},
            "https://c.test",
            "note: using the API at https://b.test from CERTGOV_URL (server: in certgov.yaml "
            "says https://c.test)",
        ),
        ("HTTPS://C.test:443/", {}, "https://c.test/api/v1", None),
        (None, {}, "https://c.test", None),
    ],
    ids=["three-disagree", "environment-over-config", "same-api-spelt-twice", "one-source"],
)
def test_url_note_says_which_source_wins_when_they_disagree(
    url_opt: str | None, env: dict[str, str], config: str, expected: str | None
) -> None:
    assert url_note(url_opt, config, env) == expected
