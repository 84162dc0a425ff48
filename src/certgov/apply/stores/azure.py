"""The `azure-keyvault` store: Azure Key Vault secrets through azure-keyvault-secrets (the `azure`
extra).

`{type: azure-keyvault, vault_url: https://myvault.vault.azure.net}` keeps the record for secret
path `ci/policy_validation` as the secret `ci-policy-validation`: Key Vault names allow only
letters, digits and dashes (1-127), so the path is lower-cased and each `/`, `.` and `_` becomes
`-` (see `keyvault_name`; `certgov validate` refuses paths that map to the same name). The value
is the JSON record, with content type `application/json`; the version's tags hold the metadata
(`uuid`, `client_id`, `secret_created_at`, `server_url`), never the secret.

- Credentials: `DefaultAzureCredential`, so a workload identity, a managed identity or the Azure
  CLI's login all work, and in GitHub Actions `azure/login` with OIDC federation signs in with
  no stored secret.
- Permissions: apply needs the role "Key Vault Secrets Officer" on the vault (for a vault with
  access policies: secret permissions get, list, set and recover); plan needs only "Key Vault
  Reader", as it reads the versions' tags and never a value.
- A write is one Set Secret call: value and tags land together as a new version, or not at all.
  When a soft-deleted secret holds the name, it is recovered, then written.
- `read_meta` lists the secret's versions (properties only) and reads the tags of the newest;
  Key Vault's creation times are whole seconds, so among versions of one second the one whose
  tags hold the latest `secret_created_at` wins. A disabled newest version counts as no record.

Tested against a fake of Key Vault's documented REST API (tests/stores/azure_keyvault_fake.py),
not against Key Vault.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from certgov.apply.stores.base import RecordMeta, SecretRecord, import_optional
from certgov.apply.stores.service import ServiceStore
from certgov.errors import SecretStoreError
from certgov.secretpath import keyvault_name

MAX_TAG_VALUE = 256
_ACTION = re.compile(r"Action: '([^']+)'")
_EPOCH = datetime.datetime.min.replace(tzinfo=datetime.UTC)
# 408 and 429 and 5xx: trying again may help; 409 only while a recovery is under way.
_TRANSIENT = frozenset({408, 429, 500, 502, 503, 504})
# What a 403 asks for: the built-in role, or the access policy of vaults that use them.
_WRITER = ("Key Vault Secrets Officer", "the secret permissions get, list, set and recover")
_READER = ("Key Vault Reader", "the secret permission list")


def _tags(record: SecretRecord) -> dict[str, str]:
    tags = record.meta().to_dict()
    long = [key for key, value in tags.items() if len(value) > MAX_TAG_VALUE]
    if long:
        raise SecretStoreError(
            f"{', '.join(long)} is longer than a Key Vault tag ({MAX_TAG_VALUE} characters)",
            retryable=False,
        )
    return tags


def _newest(versions: list[Any]) -> Any:
    return max(
        versions,
        key=lambda v: (v.created_on or _EPOCH, (v.tags or {}).get("secret_created_at", "")),
    )


class AzureKeyVaultStore(ServiceStore):
    """Key Vault secrets; see the module docstring.

    `credential` replaces DefaultAzureCredential (tests pass a static one); `retry_backoff` is
    azure-core's backoff factor (its first retry is immediate, the second waits twice the
    factor); `poll_interval` is how often a recovery is checked.
    """

    kind = "azure-keyvault"

    def __init__(
        self,
        name: str,
        *,
        vault_url: str,
        timeout: float = 30.0,
        credential: Any = None,
        retry_backoff: float = 0.8,
        poll_interval: float = 2.0,
    ) -> None:
        super().__init__(name)
        self.vault_url = vault_url
        self.timeout = timeout
        self.retry_backoff = retry_backoff
        self.poll_interval = poll_interval
        self._credential = credential
        self._owned_credential: Any = None
        self._secrets = import_optional("azure.keyvault.secrets", "azure")
        self._identity = import_optional("azure.identity", "azure")
        self._errors = import_optional("azure.core.exceptions", "azure")

    def _connect(self) -> Any:
        credential = self._credential
        if credential is None:
            credential = self._owned_credential = self._identity.DefaultAzureCredential()
        return self._secrets.SecretClient(
            self.vault_url,
            credential,
            # Few attempts inside azure-core (which honours Retry-After): certgov retries whole
            # writes itself.
            retry_total=2,
            retry_backoff_factor=self.retry_backoff,
            connection_timeout=min(self.timeout, 10.0),
            read_timeout=self.timeout,
        )

    def _disconnect(self, client: Any) -> None:
        client.close()
        if self._owned_credential is not None:
            self._owned_credential.close()
            self._owned_credential = None

    def _secret_name(self, path: str) -> str:
        try:
            return keyvault_name(self._checked(path))
        except SecretStoreError as exc:
            raise self._error(exc.message, retryable=False) from None

    def _failure(
        self, action: str, exc: BaseException, *, write: bool, secret: str = ""
    ) -> SecretStoreError:
        """A SecretStoreError for an azure-core failure, scrubbed, never chained."""
        errors = self._errors
        if isinstance(exc, errors.ClientAuthenticationError) and exc.status_code is None:
            return self._error(
                f"{action}: DefaultAzureCredential found no usable identity (a workload or"
                " managed identity, `az login`, or azure/login with OIDC in GitHub Actions)",
                retryable=False,
            )
        if isinstance(exc, errors.ServiceRequestError | errors.ServiceResponseError):
            return self._error(f"{action}: cannot reach {self.vault_url}: {type(exc).__name__}")
        status = getattr(exc, "status_code", None)
        error = getattr(exc, "error", None)
        code = getattr(error, "code", None) or type(exc).__name__
        text = getattr(error, "message", None) or str(exc)
        if status == 403:
            wanted = _ACTION.search(text)
            what = f" for {wanted.group(1)}" if wanted else ""
            role, policy = _WRITER if write else _READER
            return self._error(
                f"{action}: permission denied{what}: give the identity the role '{role}' on"
                f" the vault (with access policies: {policy})",
                retryable=False,
            )
        first_line = text.strip().splitlines()[0] if text.strip() else code
        retryable = status in _TRANSIENT or _inner_code(exc) == "ObjectIsBeingRecovered"
        return self._error(
            f"{action}: HTTP {status} {code}: {first_line}", secret=secret, retryable=retryable
        )

    def _azure_errors(self) -> tuple[type[BaseException], ...]:
        return (self._errors.AzureError,)

    def read_meta(self, path: str) -> RecordMeta | None:
        """The tags of the newest version, read without its value; None when there is none."""
        name = self._secret_name(path)
        client = self._connected()
        try:
            versions = list(client.list_properties_of_secret_versions(name))
        except self._errors.ResourceNotFoundError:
            return None
        except self._azure_errors() as exc:
            raise self._failure(f"cannot read {name!r}", exc, write=False) from None
        if not versions:
            return None
        newest = _newest(versions)
        if not newest.enabled:
            return None
        try:
            return RecordMeta.from_mapping(newest.tags or {}, where=f"the tags of {name!r}")
        except SecretStoreError as exc:
            raise self._error(exc.message, retryable=False) from None

    def write(self, path: str, record: SecretRecord) -> None:
        """Set a new version (value and tags at once); recover a soft-deleted one first."""
        name = self._secret_name(path)
        try:
            tags = _tags(record)
        except SecretStoreError as exc:
            raise self._error(exc.message, retryable=False) from None
        client = self._connected()
        secret = record.client_secret
        value = record.to_json()
        try:
            try:
                client.set_secret(name, value, tags=tags, content_type="application/json")
            except self._errors.ResourceExistsError as exc:
                if _inner_code(exc) != "ObjectIsDeletedButRecoverable":
                    raise
                self._recover(client, name)
                client.set_secret(name, value, tags=tags, content_type="application/json")
        except self._azure_errors() as exc:
            raise self._failure(f"cannot write {name!r}", exc, write=True, secret=secret) from None

    def _recover(self, client: Any, name: str) -> None:
        """Recover the soft-deleted secret and wait (at most `timeout`) until it is back."""
        poller = client.begin_recover_deleted_secret(name, _polling_interval=self.poll_interval)
        poller.wait(timeout=self.timeout)


def _inner_code(exc: BaseException) -> str | None:
    """Key Vault's `innererror.code`, which tells one 409 from another."""
    inner = getattr(getattr(exc, "error", None), "innererror", None)
    return inner.get("code") if isinstance(inner, dict) else None
