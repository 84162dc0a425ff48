"""The `vault` store through hvac against FakeVault (tests/stores/vault_fake.py).

FakeVault is a fake of Vault's HTTP API served over loopback, not Vault itself: KV version 2 data
and metadata with versions and check-and-set as Vault documents them, AppRole login and token
checking. No Vault server can be installed here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from certgov.apply.stores import SecretRecord, VaultStore
from certgov.errors import SecretStoreConflictError, SecretStoreError
from tests.stores.vault_fake import FakeVault


@pytest.fixture
def store(fake_vault: FakeVault, monkeypatch: pytest.MonkeyPatch) -> Iterator[VaultStore]:
    monkeypatch.setenv("VAULT_TOKEN", fake_vault.root_token)
    monkeypatch.delenv("VAULT_ROLE_ID", raising=False)
    monkeypatch.delenv("VAULT_SECRET_ID", raising=False)
    store = VaultStore("vault", url=fake_vault.url, mount="secret", timeout=5)
    yield store
    store.close()


def test_write_then_read_meta_round_trips(store: VaultStore, record: SecretRecord) -> None:
    store.write("ci/deploy", record)

    assert store.read_meta("ci/deploy") == record.meta()


def test_write_stores_the_whole_record_as_the_data(
    store: VaultStore, fake_vault: FakeVault, record: SecretRecord
) -> None:
    store.write("ci/deploy", record)

    assert fake_vault.secrets["ci/deploy"].versions == {1: record.to_dict()}


def test_read_meta_of_a_missing_secret_is_none(store: VaultStore) -> None:
    assert store.read_meta("ci/nothing") is None


def test_each_write_makes_a_new_version_with_cas(
    store: VaultStore,
    fake_vault: FakeVault,
    record: SecretRecord,
    make_record: Callable[[str], SecretRecord],
) -> None:
    newer = make_record("2026-04-01T10:00:00Z")
    store.write("ci/deploy", record)
    store.write("ci/deploy", newer)

    assert fake_vault.secrets["ci/deploy"].versions == {1: record.to_dict(), 2: newer.to_dict()}
    assert store.read_meta("ci/deploy") == newer.meta()


def test_write_reads_the_version_then_writes(
    store: VaultStore, fake_vault: FakeVault, record: SecretRecord
) -> None:
    store.write("ci/deploy", record)

    assert fake_vault.requests == [
        ("GET", "/v1/secret/metadata/ci/deploy"),
        ("POST", "/v1/secret/data/ci/deploy"),
    ]


def test_concurrent_writer_is_detected_by_cas(
    store: VaultStore,
    fake_vault: FakeVault,
    record: SecretRecord,
    make_record: Callable[[str], SecretRecord],
) -> None:
    store.write("ci/deploy", record)
    theirs = make_record("2026-04-02T10:00:00Z").to_dict()
    fake_vault.after_metadata_read["ci/deploy"] = lambda: fake_vault.put("ci/deploy", theirs)

    with pytest.raises(SecretStoreConflictError) as caught:
        store.write("ci/deploy", make_record("2026-04-01T10:00:00Z"))

    assert caught.value.message == (
        "vault store 'vault': secret/ci/deploy was written by someone else while certgov wrote"
        " it (expected version 1); run plan again"
    )
    assert caught.value.retryable is False
    assert fake_vault.secrets["ci/deploy"].versions == {1: record.to_dict(), 2: theirs}


def test_concurrent_creation_is_detected_by_cas_zero(
    store: VaultStore,
    fake_vault: FakeVault,
    record: SecretRecord,
    make_record: Callable[[str], SecretRecord],
) -> None:
    theirs = make_record("2026-04-02T10:00:00Z").to_dict()
    fake_vault.after_metadata_read["ci/deploy"] = lambda: fake_vault.put("ci/deploy", theirs)

    with pytest.raises(SecretStoreConflictError):
        store.write("ci/deploy", record)

    assert fake_vault.secrets["ci/deploy"].versions == {1: theirs}


def test_approle_login_is_used_without_a_token(
    fake_vault: FakeVault, monkeypatch: pytest.MonkeyPatch, record: SecretRecord
) -> None:
    role_id, secret_id = fake_vault.add_approle()
    monkeypatch.delenv("VAULT_TOKEN", raising=False)
    monkeypatch.setenv("VAULT_ROLE_ID", role_id)
    monkeypatch.setenv("VAULT_SECRET_ID", secret_id)
    store = VaultStore("vault", url=fake_vault.url, mount="secret")
    try:
        store.write("ci/deploy", record)
        meta = store.read_meta("ci/deploy")
    finally:
        store.close()

    assert meta == record.meta()
    assert fake_vault.requests[0] == ("POST", "/v1/auth/approle/login")
    assert len(fake_vault.tokens) == 2


def test_wrong_approle_secret_is_refused_without_showing_it(
    fake_vault: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    role_id, _ = fake_vault.add_approle()
    monkeypatch.delenv("VAULT_TOKEN", raising=False)
    monkeypatch.setenv("VAULT_ROLE_ID", role_id)
    monkeypatch.setenv("VAULT_SECRET_ID", "wrong-secret-id")
    store = VaultStore("vault", url=fake_vault.url, mount="secret")

    with pytest.raises(SecretStoreError) as caught:
        store.read_meta("ci/deploy")

    assert caught.value.message == (
        "vault store 'vault': AppRole login failed: invalid role or secret ID, on post"
        f" {fake_vault.url}/v1/auth/approle/login"
    )
    assert caught.value.retryable is False


def test_no_credentials_is_a_clear_error(
    fake_vault: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("VAULT_TOKEN", "VAULT_ROLE_ID", "VAULT_SECRET_ID"):
        monkeypatch.delenv(name, raising=False)
    store = VaultStore("vault", url=fake_vault.url, mount="secret")

    with pytest.raises(SecretStoreError) as caught:
        store.read_meta("ci/deploy")

    assert caught.value.message == (
        "vault store 'vault': no credentials: set VAULT_TOKEN, or VAULT_ROLE_ID and VAULT_SECRET_ID"
    )


def test_bad_token_is_permission_denied(
    fake_vault: FakeVault, monkeypatch: pytest.MonkeyPatch, record: SecretRecord
) -> None:
    monkeypatch.setenv("VAULT_TOKEN", "hvs.not-a-token")
    store = VaultStore("vault", url=fake_vault.url, mount="secret")
    try:
        with pytest.raises(SecretStoreError) as caught:
            store.write("ci/deploy", record)
    finally:
        store.close()

    assert caught.value.message == (
        "vault store 'vault': cannot read the metadata of 'ci/deploy': permission denied (check"
        " the token's policy for secret/data and secret/metadata)"
    )
    assert fake_vault.secrets == {}


def test_unknown_mount_fails_the_read(
    fake_vault: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_TOKEN", fake_vault.root_token)
    store = VaultStore("vault", url=fake_vault.url, mount="kv")
    try:
        with pytest.raises(SecretStoreError) as caught:
            store.read_meta("ci/deploy")
    finally:
        store.close()

    # hvac reads Vault's 404 as "no such path": the read must not report "no record" silently.
    assert caught.value.message == (
        "vault store 'vault': cannot read 'ci/deploy': no handler for route"
        f" 'kv/data/ci/deploy', on get {fake_vault.url}/v1/kv/data/ci/deploy"
    )


def test_rejected_write_is_scrubbed(
    store: VaultStore,
    fake_vault: FakeVault,
    record: SecretRecord,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def echoing_write(path: str, body: object) -> tuple[int, object]:
        # A server that echoes the request in its error, as some proxies do.
        return 400, {"errors": [f"rejected {body}"]}

    monkeypatch.setattr(fake_vault, "_write", echoing_write)
    with pytest.raises(SecretStoreError) as caught:
        store.write("ci/deploy", record)

    echoed = repr({"options": {"cas": 0}, "data": record.to_dict()})
    assert caught.value.message == (
        f"vault store 'vault': cannot write 'ci/deploy': rejected {echoed}, on post"
        f" {fake_vault.url}/v1/secret/data/ci/deploy"
    ).replace(record.client_secret, "***")
    assert caught.value.retryable is False


def test_server_error_on_write_is_retryable(
    store: VaultStore,
    fake_vault: FakeVault,
    record: SecretRecord,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fake_vault, "_write", lambda path, body: (500, {"errors": ["sealed"]}))

    with pytest.raises(SecretStoreError) as caught:
        store.write("ci/deploy", record)

    assert caught.value.message == (
        "vault store 'vault': cannot write 'ci/deploy': sealed, on post"
        f" {fake_vault.url}/v1/secret/data/ci/deploy"
    )
    assert caught.value.retryable is True


def test_server_error_on_read_is_retryable(
    store: VaultStore, fake_vault: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fake_vault, "_read", lambda path, version: (503, {"errors": ["standby"]}))

    with pytest.raises(SecretStoreError) as caught:
        store.read_meta("ci/deploy")

    assert caught.value.message == (
        "vault store 'vault': cannot read 'ci/deploy': standby, on get"
        f" {fake_vault.url}/v1/secret/data/ci/deploy"
    )
    assert caught.value.retryable is True


def test_answer_without_data_is_an_error(
    store: VaultStore, fake_vault: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fake_vault, "_read", lambda path, version: (200, {"data": None}))

    with pytest.raises(SecretStoreError) as caught:
        store.read_meta("ci/deploy")

    assert caught.value.message == "vault store 'vault': 'ci/deploy' holds no data"


def test_unknown_mount_fails_the_write(
    fake_vault: FakeVault, monkeypatch: pytest.MonkeyPatch, record: SecretRecord
) -> None:
    monkeypatch.setenv("VAULT_TOKEN", fake_vault.root_token)
    store = VaultStore("vault", url=fake_vault.url, mount="kv")
    try:
        with pytest.raises(SecretStoreError) as caught:
            store.write("ci/deploy", record)
    finally:
        store.close()

    assert caught.value.message == (
        "vault store 'vault': cannot read the metadata of 'ci/deploy': no handler for route"
        f" 'kv/metadata/ci/deploy', on get {fake_vault.url}/v1/kv/metadata/ci/deploy"
    )


def test_record_without_the_fields_is_an_error(store: VaultStore, fake_vault: FakeVault) -> None:
    fake_vault.put("ci/deploy", {"password": "hunter2"})

    with pytest.raises(SecretStoreError) as caught:
        store.read_meta("ci/deploy")

    assert caught.value.message == (
        "vault store 'vault': secret/ci/deploy is not a certgov secret record: missing or empty"
        " uuid, client_id, secret_created_at, server_url"
    )


def test_stopped_server_is_a_retryable_error(
    monkeypatch: pytest.MonkeyPatch, record: SecretRecord
) -> None:
    monkeypatch.setenv("VAULT_TOKEN", "hvs.any")
    store = VaultStore("vault", url="http://127.0.0.1:9", mount="secret", timeout=2)
    try:
        with pytest.raises(SecretStoreError) as caught:
            store.write("ci/deploy", record)
    finally:
        store.close()

    assert caught.value.message == (
        "vault store 'vault': cannot read the metadata of 'ci/deploy': cannot reach"
        " http://127.0.0.1:9: ConnectionError"
    )
    assert caught.value.retryable is True


def test_path_escape_is_refused(store: VaultStore, fake_vault: FakeVault) -> None:
    with pytest.raises(SecretStoreError) as caught:
        store.read_meta("../sys/policy")

    assert caught.value.retryable is False
    assert fake_vault.requests == []
