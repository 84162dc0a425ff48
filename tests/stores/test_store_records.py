"""The secret record, its metadata, secret paths and scrubbing."""

from __future__ import annotations

import base64
import json
import urllib.parse

import pytest

from certgov.apply.stores import RecordMeta, SecretRecord, scrub, validate_secret_path
from certgov.errors import SecretStoreError


def test_repr_hides_the_secret(record: SecretRecord) -> None:
    assert repr(record) == (
        "SecretRecord(uuid='550e8400-e29b-41d4-a716-446655440000',"
        f" client_id='{record.client_id}', client_secret='***',"
        " secret_created_at='2026-03-01T10:00:00Z', server_url='http://127.0.0.1:8080')"
    )


def test_str_hides_the_secret(record: SecretRecord) -> None:
    assert str(record) == repr(record)


def test_to_json_is_the_whole_record(record: SecretRecord) -> None:
    assert json.loads(record.to_json()) == {
        "uuid": record.uuid,
        "client_id": record.client_id,
        "client_secret": record.client_secret,
        "secret_created_at": "2026-03-01T10:00:00Z",
        "server_url": "http://127.0.0.1:8080",
    }


def test_meta_drops_the_secret_and_normalises_the_time(record: SecretRecord) -> None:
    assert record.meta() == RecordMeta(
        uuid=record.uuid,
        client_id=record.client_id,
        secret_created_at="2026-03-01T10:00:00+00:00",
        server_url="http://127.0.0.1:8080",
    )


def test_meta_to_dict_has_no_secret(record: SecretRecord) -> None:
    assert record.meta().to_dict() == {
        "uuid": record.uuid,
        "client_id": record.client_id,
        "secret_created_at": "2026-03-01T10:00:00+00:00",
        "server_url": "http://127.0.0.1:8080",
    }


def test_from_mapping_round_trips(record: SecretRecord) -> None:
    assert SecretRecord.from_mapping(record.to_dict(), where="x") == record


def test_record_with_an_empty_secret_is_refused(record: SecretRecord) -> None:
    data = record.to_dict() | {"client_secret": ""}

    with pytest.raises(SecretStoreError) as caught:
        SecretRecord.from_mapping(data, where="the input")

    assert caught.value.message == (
        "the input is not a certgov secret record: missing or empty client_secret"
    )


def test_record_with_a_bad_timestamp_names_the_timestamp(record: SecretRecord) -> None:
    data = record.to_dict() | {"secret_created_at": "yesterday"}

    with pytest.raises(SecretStoreError) as caught:
        RecordMeta.from_mapping(data, where="the input")

    assert caught.value.message == (
        "the input is not a certgov secret record: secret_created_at 'yesterday' is not a timestamp"
    )


@pytest.mark.parametrize("path", ["deploy", "ci/policy-validation", "team_a/ci/v1.2", "A/b-c_d.e"])
def test_valid_secret_paths_are_accepted(path: str) -> None:
    assert validate_secret_path(path) == path


@pytest.mark.parametrize("path", ["a" * 257, "a/", "/a", "a b", "ä", "a/..", "..", "-"])
def test_invalid_secret_paths_are_refused(path: str) -> None:
    with pytest.raises(SecretStoreError) as caught:
        validate_secret_path(path)

    assert caught.value.retryable is False


def test_non_string_path_is_refused() -> None:
    with pytest.raises(SecretStoreError) as caught:
        validate_secret_path(None)  # type: ignore[arg-type]

    assert caught.value.message == "secret path must be a non-empty string"


def test_scrub_masks_every_encoding_of_the_secret() -> None:
    secret = 'ab+/c"d=e' * 4
    text = " | ".join(
        [
            secret,
            urllib.parse.quote(secret, safe=""),
            urllib.parse.quote_plus(secret),
            json.dumps(secret)[1:-1],
            base64.b64encode(secret.encode()).decode(),
            base64.urlsafe_b64encode(secret.encode()).decode(),
        ]
    )

    assert scrub(text, secret) == " | ".join(["***"] * 6)


def test_scrub_without_a_secret_changes_nothing() -> None:
    assert scrub("stderr text", "") == "stderr text"
