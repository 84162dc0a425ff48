"""Fixtures of the secret store tests: sample records and the Vault fake (see vault_fake.py)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import pytest

from certgov.apply.stores import SecretRecord
from tests.stores.vault_fake import FakeVault, serving


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
