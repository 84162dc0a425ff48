"""The `azure-keyvault` store through azure-keyvault-secrets against FakeKeyVault.

FakeKeyVault (tests/stores/azure_keyvault_fake.py) is a fake of Key Vault's documented REST API
served over HTTPS on loopback, not Key Vault itself: no Key Vault emulator can be installed
here. The SDK trusts the fake's throwaway CA through REQUESTS_CA_BUNDLE, and gets its token from
a static credential (or, in one test, from the fake's managed identity endpoint). What both
cloud stores promise is tested in test_cloud_store_contract.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from azure.identity import CredentialUnavailableError

from certgov.apply.stores import AzureKeyVaultStore, SecretRecord, keyvault_name
from certgov.errors import SecretStoreError
from tests.loopback import Answer, ThrowawayCA
from tests.stores.azure_keyvault_fake import RECOVER, FakeKeyVault, StaticCredential
from tests.stores.cloud import keyvault_store


@pytest.fixture
def make_store(
    fake_keyvault: FakeKeyVault, closing: Callable[[AzureKeyVaultStore], AzureKeyVaultStore]
) -> Callable[..., AzureKeyVaultStore]:
    """Stores on the fake, with the token of `role`; closed at the end of the test."""

    def make(role: str = "Key Vault Secrets Officer", **kwargs: Any) -> AzureKeyVaultStore:
        return closing(keyvault_store(fake_keyvault, role, **kwargs))

    return make


@pytest.fixture
def store(make_store: Callable[..., AzureKeyVaultStore]) -> AzureKeyVaultStore:
    return make_store()


def _calls(fake: FakeKeyVault) -> list[tuple[str, str]]:
    """The calls after the authentication challenge, without their api-version."""
    return [(c.method, c.path) for c in fake.calls if c.authorization]


# -- write and read --------------------------------------------------------------------------------


def test_the_value_is_the_record_and_the_tags_its_metadata(
    store: AzureKeyVaultStore, fake_keyvault: FakeKeyVault, record: SecretRecord
) -> None:
    store.write("ci/deploy", record)

    (version,) = fake_keyvault.secrets["ci-deploy"].versions
    assert json.loads(version.value) == record.to_dict()
    assert (version.tags, version.content_type) == (record.meta().to_dict(), "application/json")
    assert record.client_secret not in json.dumps(version.tags)


def test_the_first_call_answers_the_challenge_with_the_vaults_resource(
    fake_keyvault: FakeKeyVault, record: SecretRecord
) -> None:
    credential = StaticCredential(fake_keyvault.token())
    store = AzureKeyVaultStore("kv", vault_url=fake_keyvault.url, credential=credential)
    try:
        store.write("ci/deploy", record)
    finally:
        store.close()

    port = fake_keyvault.url.rsplit(":", 1)[1]
    assert credential.scopes == [(f"https://0.0.1:{port}/.default",)]
    assert [(c.method, bool(c.authorization)) for c in fake_keyvault.calls] == [
        ("PUT", False),
        ("PUT", True),
    ]


# -- rotation --------------------------------------------------------------------------------------


def test_versions_are_read_across_pages(
    store: AzureKeyVaultStore,
    fake_keyvault: FakeKeyVault,
    record: SecretRecord,
    make_record: Callable[[str], SecretRecord],
) -> None:
    fake_keyvault.page_size = 1
    store.write("ci/deploy", record)
    store.write("ci/deploy", make_record("2026-04-01T10:00:00Z"))
    store.write("ci/deploy", make_record("2026-05-01T10:00:00Z"))
    fake_keyvault.calls.clear()

    assert store.read_meta("ci/deploy") == make_record("2026-05-01T10:00:00Z").meta()
    assert len(_calls(fake_keyvault)) == 3


def test_among_versions_of_one_second_the_latest_record_wins(
    store: AzureKeyVaultStore,
    fake_keyvault: FakeKeyVault,
    record: SecretRecord,
    make_record: Callable[[str], SecretRecord],
) -> None:
    store.write("ci/deploy", make_record("2026-05-01T10:00:00Z"))
    store.write("ci/deploy", record)
    # Key Vault's creation times are whole seconds: make both writes fall in one.
    for version in fake_keyvault.secrets["ci-deploy"].versions:
        version.created = 1_780_000_000

    assert store.read_meta("ci/deploy") == make_record("2026-05-01T10:00:00Z").meta()


def test_a_newer_version_wins_over_a_later_secret_created_at(
    store: AzureKeyVaultStore,
    fake_keyvault: FakeKeyVault,
    record: SecretRecord,
    make_record: Callable[[str], SecretRecord],
) -> None:
    store.write("ci/deploy", make_record("2026-05-01T10:00:00Z"))
    fake_keyvault.secrets["ci-deploy"].versions[0].created -= 60
    store.write("ci/deploy", record)

    assert store.read_meta("ci/deploy") == record.meta()


def test_an_empty_list_of_versions_is_no_record(
    store: AzureKeyVaultStore, fake_keyvault: FakeKeyVault
) -> None:
    fake_keyvault.faults.add(Answer(200, {"value": [], "nextLink": None}), path="/versions")

    assert store.read_meta("ci/deploy") is None


def test_a_server_url_too_long_for_a_tag_is_refused_before_any_call(
    store: AzureKeyVaultStore, fake_keyvault: FakeKeyVault, record: SecretRecord
) -> None:
    long = SecretRecord(**{**record.to_dict(), "server_url": "https://" + "x" * 250})

    with pytest.raises(SecretStoreError) as caught:
        store.write("ci/deploy", long)

    assert caught.value.message == (
        "azure-keyvault store 'kv': server_url is longer than a Key Vault tag (256 characters)"
    )
    assert caught.value.retryable is False
    assert fake_keyvault.calls == []


def test_a_disabled_newest_version_is_no_record(
    store: AzureKeyVaultStore, fake_keyvault: FakeKeyVault, record: SecretRecord
) -> None:
    store.write("ci/deploy", record)
    fake_keyvault.secrets["ci-deploy"].newest.enabled = False

    assert store.read_meta("ci/deploy") is None


def test_a_secret_without_certgov_tags_is_an_error(
    store: AzureKeyVaultStore, fake_keyvault: FakeKeyVault, record: SecretRecord
) -> None:
    store.write("ci/deploy", record)
    fake_keyvault.secrets["ci-deploy"].newest.tags = {"owner": "payments"}

    with pytest.raises(SecretStoreError) as caught:
        store.read_meta("ci/deploy")

    assert caught.value.message == (
        "azure-keyvault store 'kv': the tags of 'ci-deploy' is not a certgov secret record:"
        " missing or empty uuid, client_id, secret_created_at, server_url"
    )
    assert caught.value.retryable is False


# -- soft delete -----------------------------------------------------------------------------------


def test_a_soft_deleted_secret_is_recovered_then_written(
    store: AzureKeyVaultStore,
    fake_keyvault: FakeKeyVault,
    record: SecretRecord,
    make_record: Callable[[str], SecretRecord],
) -> None:
    store.write("ci/deploy", record)
    fake_keyvault.soft_delete("ci-deploy")
    fake_keyvault.recovery_polls = 2  # recovery takes a while: two reads still say 404
    assert store.read_meta("ci/deploy") is None
    fake_keyvault.calls.clear()
    newer = make_record("2026-04-01T10:00:00Z")

    store.write("ci/deploy", newer)

    assert store.read_meta("ci/deploy") == newer.meta()
    assert [json.loads(v) for v in fake_keyvault.values("ci-deploy")] == [
        record.to_dict(),
        newer.to_dict(),
    ]
    assert _calls(fake_keyvault)[:5] == [
        ("PUT", "/secrets/ci-deploy"),
        ("POST", "/deletedsecrets/ci-deploy/recover"),
        ("GET", "/secrets/ci-deploy/"),
        ("GET", "/secrets/ci-deploy/"),
        ("GET", "/secrets/ci-deploy/"),
    ]


def test_recovering_without_the_permission_says_which_role(
    make_store: Callable[..., AzureKeyVaultStore],
    store: AzureKeyVaultStore,
    fake_keyvault: FakeKeyVault,
    record: SecretRecord,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store.write("ci/deploy", record)
    fake_keyvault.soft_delete("ci-deploy")
    # An identity that may set secrets but not recover them (a custom role).
    token = fake_keyvault.token()
    monkeypatch.setitem(fake_keyvault.tokens, token, fake_keyvault.tokens[token] - {RECOVER})
    writer = make_store(credential=StaticCredential(token))

    with pytest.raises(SecretStoreError) as caught:
        writer.write("ci/deploy", record)

    assert caught.value.message == (
        "azure-keyvault store 'kv': cannot write 'ci-deploy': permission denied for"
        f" {RECOVER}: give the identity the role 'Key Vault Secrets Officer' on the vault"
        " (with access policies: the secret permissions get, list, set and recover)"
    )
    assert caught.value.retryable is False


def test_a_write_during_someone_elses_recovery_is_retryable(
    store: AzureKeyVaultStore, fake_keyvault: FakeKeyVault, record: SecretRecord
) -> None:
    fake_keyvault.faults.add(
        Answer(
            409,
            {
                "error": {
                    "code": "Conflict",
                    "message": "Secret ci-deploy is currently being recovered.",
                    "innererror": {"code": "ObjectIsBeingRecovered"},
                }
            },
        ),
        method="PUT",
        path="/secrets/",
    )

    with pytest.raises(SecretStoreError) as caught:
        store.write("ci/deploy", record)

    assert caught.value.message == (
        "azure-keyvault store 'kv': cannot write 'ci-deploy': HTTP 409 Conflict: Secret"
        " ci-deploy is currently being recovered."
    )
    assert caught.value.retryable is True


# -- errors ----------------------------------------------------------------------------------------


# -- credentials -----------------------------------------------------------------------------------


def test_default_azure_credential_uses_a_managed_identity_with_no_secret(
    fake_keyvault: FakeKeyVault,
    tls_ca: ThrowawayCA,
    record: SecretRecord,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in fake_keyvault.client_env(tls_ca).items():
        monkeypatch.setenv(name, value)
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "MSI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    store = AzureKeyVaultStore("kv", vault_url=fake_keyvault.url, timeout=5)
    try:
        store.write("ci/deploy", record)
        meta = store.read_meta("ci/deploy")
    finally:
        store.close()

    assert meta == record.meta()
    assert [c.path for c in fake_keyvault.calls if c.path == "/msi/token"] == ["/msi/token"]


class _NoIdentity:
    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        raise CredentialUnavailableError("EnvironmentCredential: environment not configured")


def test_no_identity_is_a_clear_error(fake_keyvault: FakeKeyVault) -> None:
    store = AzureKeyVaultStore("kv", vault_url=fake_keyvault.url, credential=_NoIdentity())
    try:
        with pytest.raises(SecretStoreError) as caught:
            store.read_meta("ci/deploy")
    finally:
        store.close()

    assert caught.value.message == (
        "azure-keyvault store 'kv': cannot read 'ci-deploy': DefaultAzureCredential found no"
        " usable identity (a workload or managed identity, `az login`, or azure/login with OIDC"
        " in GitHub Actions)"
    )
    assert caught.value.retryable is False


# -- names -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("ci/deploy", "ci-deploy"),
        ("CI/Policy_Validation.v2", "ci-policy-validation-v2"),
        ("_x", "-x"),
        ("a" * 127, "a" * 127),
    ],
)
def test_key_vault_names_are_the_path_lower_cased_with_dashes(path: str, name: str) -> None:
    assert keyvault_name(path) == name


def test_a_path_too_long_for_key_vault_is_refused_before_any_call(
    store: AzureKeyVaultStore, fake_keyvault: FakeKeyVault, record: SecretRecord
) -> None:
    with pytest.raises(SecretStoreError) as caught:
        store.write("a/" + "b" * 126, record)

    assert caught.value.message == (
        f"azure-keyvault store 'kv': secret path 'a/{'b' * 126}' is too long for Key Vault:"
        f" the name 'a-{'b' * 126}' has 128 characters (at most 127)"
    )
    assert caught.value.retryable is False
    assert fake_keyvault.calls == []
