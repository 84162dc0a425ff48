"""Fixtures of the secret store tests: sample records, and the fakes of Vault, Azure Key Vault and
Google Secret Manager on loopback (see *_fake.py), the last two over HTTPS."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from certgov.apply.stores import SecretRecord
from tests.loopback import ThrowawayCA
from tests.stores.azure_keyvault_fake import FakeKeyVault
from tests.stores.gcp_secret_manager_fake import FakeSecretManager
from tests.stores.vault_fake import FakeVault, serving

Closable = TypeVar("Closable", bound=Any)


@pytest.fixture
def record() -> SecretRecord:
    return SecretRecord(
        uuid="550e8400-e29b-41d4-a716-446655440000",
        client_id="svc_" + "a1" * 16,
        client_secret=secrets.token_hex(32),
        secret_created_at="2026-03-01T10:00:00Z",
        server_url="http://127.0.0.1:8080",
    )


@pytest.fixture
def make_record(record: SecretRecord) -> Callable[[str], SecretRecord]:
    """Another generation of `record`: a new secret created at `created_at`."""

    def make(created_at: str) -> SecretRecord:
        return SecretRecord(
            uuid=record.uuid,
            client_id=record.client_id,
            client_secret=secrets.token_hex(32),
            secret_created_at=created_at,
            server_url=record.server_url,
        )

    return make


@pytest.fixture
def fake_vault() -> Iterator[FakeVault]:
    with serving(FakeVault()) as fake:
        yield fake


@pytest.fixture
def closing() -> Iterator[Callable[[Closable], Closable]]:
    """`closing(store)` is `store`, closed at the end of the test."""
    made: list[Closable] = []

    def register(store: Closable) -> Closable:
        made.append(store)
        return store

    yield register
    for store in made:
        store.close()


@pytest.fixture
def fake_keyvault(tls_ca: ThrowawayCA, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKeyVault]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_ca.ca_file))
    fake = FakeKeyVault()
    with fake.serving(tls_ca):
        yield fake


@pytest.fixture
def fake_secret_manager(
    tls_ca: ThrowawayCA, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeSecretManager]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_ca.ca_file))
    fake = FakeSecretManager()
    with fake.serving(tls_ca):
        yield fake
