"""What the azure-keyvault and gcp-secret-manager stores both promise, tested on each against its
fake (fakes of the services' documented REST APIs over HTTPS on loopback, not the services):
records round-trip, each write is a new version, metadata is read without a value and with a
read-only role, 429 and 503 are retried by the SDK and quickly, a refusal names the role to
grant, and the secret appears in no log and no error.

What only one of them does (tags, labels and their encoding, soft delete, paging, credentials)
is in test_azure_keyvault_store.py and test_gcp_secret_manager_store.py.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from certgov.apply.stores import (
    SecretRecord,
    SecretStore,
)
from certgov.errors import SecretStoreError
from tests.loopback import Answer, RecordingFake
from tests.stores.azure_keyvault_fake import FakeKeyVault
from tests.stores.cloud import keyvault_store, secret_manager_store
from tests.stores.gcp_secret_manager_fake import FakeSecretManager

GCP_NAME = "projects/certgov-test/secrets/ci-deploy"


@dataclass
class Case:
    """One store on its fake, and what the tests need to know of both."""

    make: Callable[[str], SecretStore]  # make(access): "write", "read" or "none"
    fake: RecordingFake
    write: str  # the HTTP method of the call that stores a version
    stored: Callable[[], list[dict[str, Any]]]  # the records of ci/deploy, oldest first
    reads_a_value: Callable[[str], bool]  # whether a request path reads a secret value
    failed: str  # how a failed write of ci/deploy starts
    denied: str  # what a write without the permission says after that
    read_denied: str  # what a read without the permission says
    error: Callable[[int, str, str], Answer]  # an error answer: status, code, message
    said: Callable[[int, str, str], str]  # how the store words that error
    stopped: Callable[[], SecretStore]  # a store whose service is not listening
    unreachable: str  # the exception a stopped service raises


def _azure(fake: FakeKeyVault) -> Case:
    roles = {"write": "Key Vault Secrets Officer", "read": "Key Vault Reader", "none": "none"}

    def make(access: str) -> SecretStore:
        return keyvault_store(fake, roles[access])

    return Case(
        make,
        fake,
        "PUT",
        lambda: [json.loads(value) for value in fake.values("ci-deploy")],
        lambda path: not path.endswith("/versions"),
        "azure-keyvault store 'kv': cannot write 'ci-deploy'",
        "permission denied for Microsoft.KeyVault/vaults/secrets/setSecret/action: give the"
        " identity the role 'Key Vault Secrets Officer' on the vault (with access policies: the"
        " secret permissions get, list, set and recover)",
        "azure-keyvault store 'kv': cannot read 'ci-deploy': permission denied for"
        " Microsoft.KeyVault/vaults/secrets/readMetadata/action: give the identity the role"
        " 'Key Vault Reader' on the vault (with access policies: the secret permission list)",
        lambda status, code, message: Answer(status, {"error": {"code": code, "message": message}}),
        lambda status, code, message: f"HTTP {status} {code}: {message}",
        lambda: keyvault_store(fake, vault_url="https://127.0.0.1:9", timeout=2),
        "ServiceRequestError",
    )


def _gcp(fake: FakeSecretManager) -> Case:
    roles = {
        "write": "roles/secretmanager.admin",
        "read": "roles/secretmanager.viewer",
        "none": "roles/secretmanager.secretVersionAdder",  # may add versions, not look
    }

    def make(access: str) -> SecretStore:
        return secret_manager_store(fake, roles[access])

    return Case(
        make,
        fake,
        "POST",
        lambda: fake.payloads("ci-deploy"),
        lambda path: path.endswith(":access"),
        f"gcp-secret-manager store 'gcp': cannot write '{GCP_NAME}'",
        "permission denied: the identity needs secretmanager.versions.add on project"
        " certgov-test (roles/secretmanager.secretVersionAdder grants it)",
        f"gcp-secret-manager store 'gcp': cannot read '{GCP_NAME}': permission denied: the"
        " identity needs secretmanager.secrets.get on project certgov-test"
        " (roles/secretmanager.viewer grants it)",
        lambda status, code, message: Answer(
            status, {"error": {"code": status, "message": message, "status": code}}
        ),
        lambda status, code, message: f"HTTP {status}: {message}",
        lambda: secret_manager_store(fake, endpoint="https://127.0.0.1:9", timeout=2),
        "ConnectionError",
    )


@pytest.fixture(params=["azure-keyvault", "gcp-secret-manager"])
def case(request: pytest.FixtureRequest) -> Case:
    if request.param == "azure-keyvault":
        return _azure(request.getfixturevalue("fake_keyvault"))
    return _gcp(request.getfixturevalue("fake_secret_manager"))


@pytest.fixture
def make_store(
    case: Case, closing: Callable[[SecretStore], SecretStore]
) -> Callable[..., SecretStore]:
    """Stores of the case, closed at the end of the test."""
    return lambda access="write": closing(case.make(access))


@pytest.fixture
def store(make_store: Callable[..., SecretStore]) -> SecretStore:
    return make_store()


def test_write_then_read_meta_round_trips(store: SecretStore, record: SecretRecord) -> None:
    store.write("ci/deploy", record)

    assert store.read_meta("ci/deploy") == record.meta()


def test_read_meta_of_a_missing_secret_is_none(store: SecretStore) -> None:
    assert store.read_meta("ci/nothing") is None


def test_each_write_is_a_new_version_and_the_newest_is_read(
    store: SecretStore, case: Case, record: SecretRecord, make_record: Callable[[str], SecretRecord]
) -> None:
    newer = make_record("2026-04-01T10:00:00Z")
    store.write("ci/deploy", record)
    store.write("ci/deploy", newer)

    assert case.stored() == [record.to_dict(), newer.to_dict()]
    assert store.read_meta("ci/deploy") == newer.meta()


def test_read_meta_reads_no_value_and_needs_only_a_read_role(
    store: SecretStore, make_store: Callable[..., SecretStore], case: Case, record: SecretRecord
) -> None:
    store.write("ci/deploy", record)
    case.fake.calls.clear()

    assert make_store("read").read_meta("ci/deploy") == record.meta()
    assert [c.path for c in case.fake.calls if case.reads_a_value(c.path)] == []


def test_a_write_without_the_permission_names_the_role(
    make_store: Callable[..., SecretStore], case: Case, record: SecretRecord
) -> None:
    with pytest.raises(SecretStoreError) as caught:
        make_store("read").write("ci/deploy", record)

    assert caught.value.message == f"{case.failed}: {case.denied}"
    assert caught.value.retryable is False


def test_a_read_without_the_permission_names_the_role(
    make_store: Callable[..., SecretStore], case: Case
) -> None:
    with pytest.raises(SecretStoreError) as caught:
        make_store("none").read_meta("ci/deploy")

    assert caught.value.message == case.read_denied
    assert caught.value.retryable is False


def test_429_and_503_are_retried_by_the_sdk_quickly(
    store: SecretStore, case: Case, record: SecretRecord
) -> None:
    store.write("ci/deploy", record)
    throttled = case.error(429, "Throttled", "slow down")
    throttled.headers["Retry-After"] = "0"
    case.fake.faults.add(throttled, method=case.write)
    case.fake.faults.add(case.error(503, "ServiceUnavailable", "busy"), method=case.write)
    case.fake.calls.clear()
    started = time.monotonic()

    store.write("ci/deploy", record)

    assert time.monotonic() - started < 2
    assert [c.method for c in case.fake.calls][:3] == [case.write] * 3
    assert case.stored() == [record.to_dict()] * 2


def test_503_after_the_sdks_retries_is_a_retryable_error(
    store: SecretStore, case: Case, record: SecretRecord
) -> None:
    store.read_meta("ci/deploy")  # Key Vault's challenge is answered before the faults
    busy = case.error(503, "ServiceUnavailable", "busy")
    case.fake.faults.add(busy, method=case.write, times=3)

    with pytest.raises(SecretStoreError) as caught:
        store.write("ci/deploy", record)

    assert caught.value.message == f"{case.failed}: {case.said(503, 'ServiceUnavailable', 'busy')}"
    assert caught.value.retryable is True


def test_a_rejected_write_is_scrubbed(store: SecretStore, case: Case, record: SecretRecord) -> None:
    store.read_meta("ci/deploy")
    # A proxy that echoes the request in its error.
    echoed = f"rejected {record.to_json()}"
    case.fake.faults.add(case.error(400, "BadParameter", echoed), method=case.write)

    with pytest.raises(SecretStoreError) as caught:
        store.write("ci/deploy", record)

    masked = echoed.replace(record.client_secret, "***")
    assert caught.value.message == f"{case.failed}: {case.said(400, 'BadParameter', masked)}"
    assert caught.value.retryable is False


def test_the_secret_is_never_logged(
    store: SecretStore, record: SecretRecord, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    store.write("ci/deploy", record)
    store.read_meta("ci/deploy")

    assert caplog.records  # the SDK did log its requests
    assert record.client_secret not in caplog.text


def test_a_stopped_service_is_a_retryable_error(case: Case, record: SecretRecord) -> None:
    store = case.stopped()
    try:
        with pytest.raises(SecretStoreError) as caught:
            store.write("ci/deploy", record)
    finally:
        store.close()

    assert caught.value.message == (
        f"{case.failed}: cannot reach https://127.0.0.1:9: {case.unreachable}"
    )
    assert caught.value.retryable is True


def test_a_path_escape_is_refused_before_any_call(store: SecretStore, case: Case) -> None:
    with pytest.raises(SecretStoreError) as caught:
        store.read_meta("../other")

    assert caught.value.retryable is False
    assert case.fake.calls == []
