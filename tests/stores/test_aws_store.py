"""The `aws` store through boto3 against moto in server mode: real HTTP over loopback.

moto's ThreadedMotoServer serves the Secrets Manager API on a free loopback port; the store talks
to it through `endpoint_url` exactly as it would to AWS. No in-process mocking.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from certgov.apply.stores import AwsStore, SecretRecord, request_token
from certgov.errors import SecretStoreConflictError, SecretStoreError

REGION = "eu-west-1"


def _start() -> tuple[ThreadedMotoServer, str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server, url = _start()
    yield url
    server.stop()


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials, and nothing from the machine's AWS configuration."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def prefix() -> str:
    # One moto server for the module: a fresh prefix keeps the tests apart.
    return f"certgov-{uuid.uuid4().hex[:8]}/"


@pytest.fixture
def store(moto_url: str, prefix: str) -> Iterator[AwsStore]:
    store = AwsStore("aws", region=REGION, prefix=prefix, endpoint_url=moto_url, timeout=5)
    yield store
    store.close()


@pytest.fixture
def sm(moto_url: str) -> Iterator[Any]:
    """A plain Secrets Manager client, to look at what the store left behind."""
    client = boto3.session.Session().client(
        "secretsmanager", region_name=REGION, endpoint_url=moto_url
    )
    yield client
    client.close()


def _versions(sm: Any, name: str) -> dict[str, list[str]]:
    versions = sm.list_secret_version_ids(SecretId=name)["Versions"]
    return {v["VersionId"]: sorted(v["VersionStages"]) for v in versions}


def test_write_then_read_meta_round_trips(store: AwsStore, record: SecretRecord) -> None:
    store.write("ci/deploy", record)

    assert store.read_meta("ci/deploy") == record.meta()


def test_secret_is_named_by_prefix_and_path_and_holds_the_record(
    store: AwsStore, sm: Any, prefix: str, record: SecretRecord
) -> None:
    store.write("ci/deploy", record)

    value = sm.get_secret_value(SecretId=f"{prefix}ci/deploy")
    assert (value["Name"], value["SecretString"], value["VersionId"]) == (
        f"{prefix}ci/deploy",
        record.to_json(),
        request_token(record),
    )


def test_read_meta_of_a_missing_secret_is_none(store: AwsStore) -> None:
    assert store.read_meta("ci/nothing") is None


def test_create_then_put_makes_two_versions(
    store: AwsStore,
    sm: Any,
    prefix: str,
    record: SecretRecord,
    make_record: Callable[[str], SecretRecord],
) -> None:
    newer = make_record("2026-04-01T10:00:00Z")
    store.write("ci/deploy", record)
    store.write("ci/deploy", newer)

    assert _versions(sm, f"{prefix}ci/deploy") == {
        request_token(record): ["AWSPREVIOUS"],
        request_token(newer): ["AWSCURRENT"],
    }
    assert store.read_meta("ci/deploy") == newer.meta()


def test_retried_create_makes_one_version(
    store: AwsStore, sm: Any, prefix: str, record: SecretRecord
) -> None:
    store.write("ci/deploy", record)
    store.write("ci/deploy", record)

    assert _versions(sm, f"{prefix}ci/deploy") == {request_token(record): ["AWSCURRENT"]}


def test_retried_put_makes_one_version(
    store: AwsStore,
    sm: Any,
    prefix: str,
    record: SecretRecord,
    make_record: Callable[[str], SecretRecord],
) -> None:
    newer = make_record("2026-04-01T10:00:00Z")
    store.write("ci/deploy", record)
    store.write("ci/deploy", newer)
    store.write("ci/deploy", newer)

    assert _versions(sm, f"{prefix}ci/deploy") == {
        request_token(record): ["AWSPREVIOUS"],
        request_token(newer): ["AWSCURRENT"],
    }


def test_secret_created_by_someone_else_meanwhile_gets_a_new_version(
    store: AwsStore,
    sm: Any,
    prefix: str,
    record: SecretRecord,
    make_record: Callable[[str], SecretRecord],
) -> None:
    name = f"{prefix}ci/deploy"
    theirs = make_record("2026-02-01T10:00:00Z")

    def create_after_the_failed_put(**kwargs: Any) -> None:
        # Runs in the store's client right after its put found no secret: another writer
        # creates it before the store's create_secret.
        if not _exists(sm, name):
            sm.create_secret(
                Name=name, SecretString=theirs.to_json(), ClientRequestToken=request_token(theirs)
            )

    store._connected().meta.events.register(
        "after-call.secretsmanager.PutSecretValue", create_after_the_failed_put
    )
    store.write("ci/deploy", record)

    assert _versions(sm, name) == {
        request_token(theirs): ["AWSPREVIOUS"],
        request_token(record): ["AWSCURRENT"],
    }


def _exists(sm: Any, name: str) -> bool:
    try:
        sm.describe_secret(SecretId=name)
    except sm.exceptions.ResourceNotFoundException:
        return False
    return True


def test_different_secret_at_the_same_instant_is_a_conflict(
    store: AwsStore,
    sm: Any,
    prefix: str,
    record: SecretRecord,
    make_record: Callable[[str], SecretRecord],
) -> None:
    store.write("ci/deploy", record)
    rival = make_record(record.secret_created_at)

    with pytest.raises(SecretStoreConflictError) as caught:
        store.write("ci/deploy", rival)

    assert caught.value.message == (
        f"aws store 'aws': '{prefix}ci/deploy' already holds a different secret created at"
        " 2026-03-01T10:00:00Z (another apply rotated it at the same time); run plan again"
    )
    assert sm.get_secret_value(SecretId=f"{prefix}ci/deploy")["SecretString"] == record.to_json()


def test_request_token_is_stable_across_releases(record: SecretRecord) -> None:
    # Changing the derivation would make a retry after an upgrade write a second version.
    assert request_token(record) == str(
        uuid.uuid5(
            uuid.UUID("5f0b7c52-3f7e-4d53-9a51-6c1d2b0c9e41"),
            "550e8400-e29b-41d4-a716-446655440000\n2026-03-01T10:00:00Z",
        )
    )


def test_secret_that_is_not_a_record_is_an_error(store: AwsStore, sm: Any, prefix: str) -> None:
    sm.create_secret(Name=f"{prefix}ci/deploy", SecretString="hunter2")

    with pytest.raises(SecretStoreError) as caught:
        store.read_meta("ci/deploy")

    assert caught.value.message == "aws store 'aws': the SecretString is not JSON"


def test_binary_secret_is_an_error(store: AwsStore, sm: Any, prefix: str) -> None:
    sm.create_secret(Name=f"{prefix}ci/deploy", SecretBinary=b"\x00\x01")

    with pytest.raises(SecretStoreError) as caught:
        store.read_meta("ci/deploy")

    assert caught.value.message == "aws store 'aws': the secret has no SecretString"


def test_json_that_is_not_an_object_is_an_error(store: AwsStore, sm: Any, prefix: str) -> None:
    sm.create_secret(Name=f"{prefix}ci/deploy", SecretString="[1]")

    with pytest.raises(SecretStoreError) as caught:
        store.read_meta("ci/deploy")

    assert caught.value.message == "aws store 'aws': the SecretString is not a JSON object"


def test_secret_marked_for_deletion_is_a_permanent_error(
    store: AwsStore, sm: Any, prefix: str, record: SecretRecord
) -> None:
    store.write("ci/deploy", record)
    sm.delete_secret(SecretId=f"{prefix}ci/deploy")

    with pytest.raises(SecretStoreError) as caught:
        store.read_meta("ci/deploy")

    # The text after the code is the server's own.
    pattern = (
        rf"aws store 'aws': cannot read '{re.escape(prefix)}ci/deploy': InvalidRequestException:"
        r" .*marked deleted\."
    )
    assert re.fullmatch(pattern, caught.value.message, flags=re.DOTALL)
    assert caught.value.retryable is False


def test_stopped_server_is_a_clear_retryable_error(
    prefix: str, record: SecretRecord, make_record: Callable[[str], SecretRecord]
) -> None:
    server, url = _start()
    store = AwsStore("aws", region=REGION, prefix=prefix, endpoint_url=url, timeout=2)
    try:
        store.write("ci/deploy", record)
        server.stop()
        with pytest.raises(SecretStoreError) as caught:
            store.write("ci/deploy", make_record("2026-04-01T10:00:00Z"))
    finally:
        store.close()

    assert caught.value.message == (
        f"aws store 'aws': cannot write '{prefix}ci/deploy': cannot reach {url}:"
        " EndpointConnectionError"
    )
    assert caught.value.retryable is True


def test_missing_credentials_are_a_clear_error(
    store: AwsStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    with pytest.raises(SecretStoreError) as caught:
        store.read_meta("ci/deploy")

    assert caught.value.message == (
        "aws store 'aws': cannot read '"
        + store.prefix
        + "ci/deploy': no AWS credentials found (environment, profile or instance role)"
    )
    assert caught.value.retryable is False


def test_partial_credentials_are_a_permanent_error(
    store: AwsStore, record: SecretRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    with pytest.raises(SecretStoreError) as caught:
        store.write("ci/deploy", record)

    assert caught.value.message == (
        "aws store 'aws': cannot set up a Secrets Manager client: Partial credentials found in"
        " env, missing: AWS_SECRET_ACCESS_KEY"
    )
    assert caught.value.retryable is False


def test_path_escape_is_refused(store: AwsStore, record: SecretRecord) -> None:
    with pytest.raises(SecretStoreError) as caught:
        store.write("../other-team/secret", record)

    assert caught.value.retryable is False
