"""The `gcp-secret-manager` store through google-cloud-secret-manager (REST) against
FakeSecretManager.

FakeSecretManager (tests/stores/gcp_secret_manager_fake.py) is a fake of Secret Manager's
documented REST API served over HTTPS on loopback, not Secret Manager itself: no emulator of it
can be installed here. The client reaches it through `api_endpoint`, trusts the fake's
throwaway CA through REQUESTS_CA_BUNDLE and sends a static token (or, in one test, one that
Application Default Credentials obtained by workload identity federation from the fake's STS).
What both cloud stores promise is tested in test_cloud_store_contract.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from google.oauth2.credentials import Credentials
from hypothesis import given
from hypothesis import strategies as st

from certgov.apply.stores import GcpSecretManagerStore, RecordMeta, SecretRecord, gcp_secret_id
from certgov.apply.stores.gcp import decode_label, encode_label, labels_meta, meta_labels
from certgov.errors import SecretStoreError
from tests.loopback import Answer, ThrowawayCA
from tests.stores.cloud import secret_manager_store
from tests.stores.gcp_secret_manager_fake import FakeSecretManager, Secret

PROJECT = "certgov-test"
NAME = f"projects/{PROJECT}/secrets/ci-deploy"


@pytest.fixture
def make_store(
    fake_secret_manager: FakeSecretManager,
    closing: Callable[[GcpSecretManagerStore], GcpSecretManagerStore],
) -> Callable[..., GcpSecretManagerStore]:
    """Stores on the fake, with a token of `roles`; closed at the end of the test."""

    def make(*roles: str, **kwargs: Any) -> GcpSecretManagerStore:
        return closing(secret_manager_store(fake_secret_manager, *roles, **kwargs))

    return make


@pytest.fixture
def store(make_store: Callable[..., GcpSecretManagerStore]) -> GcpSecretManagerStore:
    return make_store()


def _calls(fake: FakeSecretManager) -> list[tuple[str, str]]:
    return [(c.method, c.path) for c in fake.calls]


def _error(code: int, status: str, message: str) -> Answer:
    return Answer(code, {"error": {"code": code, "message": message, "status": status}})


# -- write and read --------------------------------------------------------------------------------


def test_the_payload_is_the_record_and_the_labels_its_metadata(
    store: GcpSecretManagerStore, fake_secret_manager: FakeSecretManager, record: SecretRecord
) -> None:
    store.write("ci/deploy", record)

    assert fake_secret_manager.payloads("ci-deploy") == [record.to_dict()]
    labels = fake_secret_manager.secrets["ci-deploy"].labels
    assert labels == {
        "uuid": "550e8400-e29b-41d4-a716-446655440000",
        "client_id": "svc_5f" + "a1" * 16,
        "secret_created_at": "2026-03-01_5410_3a00_3a00_2b00_3a00",
        "server_url": "http_3a_2f_2f127_2e0_2e0_2e1_3a8080",
    }
    assert record.client_secret not in json.dumps(labels)


def test_the_first_write_creates_the_secret_then_adds_then_labels(
    store: GcpSecretManagerStore, fake_secret_manager: FakeSecretManager, record: SecretRecord
) -> None:
    store.write("ci/deploy", record)

    secret = f"/v1/projects/{PROJECT}/secrets"
    assert _calls(fake_secret_manager) == [
        ("POST", f"{secret}/ci-deploy:addVersion"),
        ("POST", secret),
        ("POST", f"{secret}/ci-deploy:addVersion"),
        ("GET", f"{secret}/ci-deploy"),
        ("PATCH", f"{secret}/ci-deploy"),
    ]
    create = fake_secret_manager.calls[1]
    # Created without labels: they come only once a version holds the record.
    assert (create.query["secretId"], create.body) == (
        "ci-deploy",
        {"replication": {"automatic": {}}},
    )


def test_a_secret_created_beforehand_gets_versions_and_keeps_its_labels(
    make_store: Callable[..., GcpSecretManagerStore],
    fake_secret_manager: FakeSecretManager,
    record: SecretRecord,
    make_record: Callable[[str], SecretRecord],
) -> None:
    # Made by Terraform, say, with the roles the store needs granted on it.
    fake_secret_manager.secrets["ci-deploy"] = Secret(labels={"team": "payments"})
    store = make_store()
    store.write("ci/deploy", record)
    store.write("ci/deploy", make_record("2026-04-01T10:00:00Z"))

    labels = fake_secret_manager.secrets["ci-deploy"].labels
    assert labels == {"team": "payments", **meta_labels(make_record("2026-04-01T10:00:00Z").meta())}
    assert ("POST", f"/v1/projects/{PROJECT}/secrets") not in _calls(fake_secret_manager)


def test_a_secret_without_certgov_labels_is_no_record(
    store: GcpSecretManagerStore, fake_secret_manager: FakeSecretManager
) -> None:
    fake_secret_manager.secrets["ci-deploy"] = Secret(labels={"team": "payments"})

    assert store.read_meta("ci/deploy") is None


def test_a_secret_with_part_of_the_labels_is_an_error(
    store: GcpSecretManagerStore, fake_secret_manager: FakeSecretManager
) -> None:
    fake_secret_manager.secrets["ci-deploy"] = Secret(labels={"uuid": "x"})

    with pytest.raises(SecretStoreError) as caught:
        store.read_meta("ci/deploy")

    assert caught.value.message == (
        f"gcp-secret-manager store 'gcp': the labels of '{NAME}' is not a certgov secret"
        " record: missing or empty client_id, secret_created_at, server_url"
    )
    assert caught.value.retryable is False


# -- rotation --------------------------------------------------------------------------------------


def test_labels_are_set_only_after_the_version_is_added(
    store: GcpSecretManagerStore,
    fake_secret_manager: FakeSecretManager,
    record: SecretRecord,
    make_record: Callable[[str], SecretRecord],
) -> None:
    store.write("ci/deploy", record)
    fake_secret_manager.faults.add(_error(400, "INVALID_ARGUMENT", "no"), method="PATCH")

    with pytest.raises(SecretStoreError):
        store.write("ci/deploy", make_record("2026-04-01T10:00:00Z"))

    # The new version is there, the labels still describe the old one: the next plan sees a
    # record that does not match the account and rotates again; it never trusts a version
    # that is not there.
    assert len(fake_secret_manager.payloads("ci-deploy")) == 2
    assert store.read_meta("ci/deploy") == record.meta()


# -- errors ----------------------------------------------------------------------------------------


def test_a_first_write_without_create_says_which_permission_and_role(
    make_store: Callable[..., GcpSecretManagerStore], record: SecretRecord
) -> None:
    with pytest.raises(SecretStoreError) as caught:
        make_store("roles/secretmanager.secretVersionAdder").write("ci/deploy", record)

    assert caught.value.message == (
        f"gcp-secret-manager store 'gcp': cannot write '{NAME}': permission denied: the"
        f" identity needs secretmanager.secrets.create on project {PROJECT}"
        " (roles/secretmanager.admin grants it)"
    )
    assert caught.value.retryable is False


def test_a_refused_token_is_not_retryable(
    make_store: Callable[..., GcpSecretManagerStore],
) -> None:
    store = make_store(credentials=Credentials(token="ya29.expired"))

    with pytest.raises(SecretStoreError) as caught:
        store.read_meta("ci/deploy")

    # google-auth answers a 401 by refreshing the token, which a static one cannot do.
    assert caught.value.message == (
        f"gcp-secret-manager store 'gcp': cannot read '{NAME}': cannot get a Google access"
        " token: The credentials do not contain the necessary fields need to refresh the access"
        " token. You must specify refresh_token, token_uri, client_id, and client_secret."
    )
    assert caught.value.retryable is False


# -- credentials -----------------------------------------------------------------------------------


def test_adc_federates_a_ci_token_with_no_key(
    fake_secret_manager: FakeSecretManager,
    tls_ca: ThrowawayCA,
    tmp_path: Path,
    record: SecretRecord,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in fake_secret_manager.client_env(tls_ca, tmp_path).items():
        monkeypatch.setenv(name, value)
    store = GcpSecretManagerStore("gcp", project=PROJECT, endpoint=fake_secret_manager.url)
    try:
        store.write("ci/deploy", record)
        meta = store.read_meta("ci/deploy")
    finally:
        store.close()

    assert meta == record.meta()
    assert _calls(fake_secret_manager)[0] == ("POST", "/v1/token")


def test_no_adc_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    store = GcpSecretManagerStore("gcp", project=PROJECT)

    with pytest.raises(SecretStoreError) as caught:
        store.read_meta("ci/deploy")

    assert caught.value.message == (
        "gcp-secret-manager store 'gcp': no Google credentials: Application Default"
        " Credentials found none (GOOGLE_APPLICATION_CREDENTIALS, workload identity"
        " federation such as google-github-actions/auth, the metadata server, or"
        " `gcloud auth application-default login`)"
    )
    assert caught.value.retryable is False


# -- ids and labels --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "secret_id"),
    [
        ("ci/deploy", "ci-deploy"),
        ("CI/Policy_Validation.v2", "CI-Policy_Validation-v2"),
        ("a" * 255, "a" * 255),
    ],
)
def test_secret_ids_are_the_path_with_dashes(path: str, secret_id: str) -> None:
    assert gcp_secret_id(path) == secret_id


def test_a_path_too_long_for_secret_manager_is_refused_before_any_call(
    store: GcpSecretManagerStore, fake_secret_manager: FakeSecretManager, record: SecretRecord
) -> None:
    with pytest.raises(SecretStoreError) as caught:
        store.write("a" * 256, record)

    assert caught.value.message == (
        f"gcp-secret-manager store 'gcp': secret path '{'a' * 256}' is too long for Secret"
        " Manager: the id has 256 characters (at most 255)"
    )
    assert fake_secret_manager.calls == []


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("2026-03-01T10:00:00+00:00", "2026-03-01_5410_3a00_3a00_2b00_3a00"),
        ("svc_ab", "svc_5fab"),
        ("550e8400-e29b", "550e8400-e29b"),
        ("Ä", "_c3_84"),
        ("", ""),
    ],
)
def test_label_values_are_escaped_reversibly(value: str, label: str) -> None:
    assert (encode_label(value), decode_label(label)) == (label, value)


@given(st.text())
def test_any_value_survives_the_label_encoding(value: str) -> None:
    encoded = encode_label(value)

    assert re.fullmatch(r"[a-z0-9_-]*", encoded)
    assert decode_label(encoded) == value


def test_long_values_continue_in_numbered_labels() -> None:
    meta = RecordMeta("u", "c", "2026-03-01T10:00:00+00:00", "https://" + "x" * 100)

    labels = meta_labels(meta)

    assert sorted(labels) == [
        "client_id",
        "secret_created_at",
        "server_url",
        "server_url-2",
        "uuid",
    ]
    assert all(len(v) <= 63 for v in labels.values())
    assert labels_meta(labels) == meta.to_dict()
