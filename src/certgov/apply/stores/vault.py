"""The `vault` store: HashiCorp Vault KV version 2 through `hvac` (the `vault` extra).

`{type: vault, url: https://vault.example:8200, mount: secret}` keeps the record for secret path
`a/b` as the data of `<mount>/data/a/b`. Authentication comes from the environment: `VAULT_TOKEN`,
or else an AppRole login with `VAULT_ROLE_ID` and `VAULT_SECRET_ID` (at `auth/approle`, or the
`approle_mount` setting).

Writes use check-and-set: the store reads the current version from the metadata endpoint and
writes with `cas` set to it (0 when there is no secret yet), so that a writer who got in between
is detected as `SecretStoreConflictError` instead of being silently overwritten.
"""

from __future__ import annotations

import os
from typing import Any

from certgov.apply.stores.base import RecordMeta, SecretRecord, import_optional
from certgov.apply.stores.service import ServiceStore
from certgov.errors import SecretStoreConflictError, SecretStoreError

_CAS_MISMATCH = "check-and-set parameter did not match the current version"


class VaultStore(ServiceStore):
    """Vault KV v2; see the module docstring."""

    kind = "vault"

    def __init__(
        self,
        name: str,
        *,
        url: str,
        mount: str,
        approle_mount: str = "approle",
        timeout: float = 30.0,
    ) -> None:
        super().__init__(name)
        self.url = url
        self.mount = mount
        self.approle_mount = approle_mount
        self.timeout = timeout
        self._hvac = import_optional("hvac", "vault")
        self._requests = import_optional("requests", "vault")

    def _failure(self, action: str, exc: BaseException, secret: str = "") -> SecretStoreError:
        """A SecretStoreError for an hvac or connection failure, scrubbed, never chained."""
        exceptions = self._hvac.exceptions
        if isinstance(exc, self._requests.RequestException):
            return self._error(f"{action}: cannot reach {self.url}: {type(exc).__name__}")
        if isinstance(exc, exceptions.Forbidden):
            return self._error(
                f"{action}: permission denied (check the token's policy for"
                f" {self.mount}/data and {self.mount}/metadata)",
                retryable=False,
            )
        text = str(exc).strip() or type(exc).__name__
        retryable = not isinstance(exc, exceptions.InvalidRequest)
        return self._error(f"{action}: {text}", secret=secret, retryable=retryable)

    def _vault_errors(self) -> tuple[type[BaseException], ...]:
        return (self._hvac.exceptions.VaultError, self._requests.RequestException)

    def _connect(self) -> Any:
        """A client with a token: VAULT_TOKEN, or an AppRole login."""
        token = os.environ.get("VAULT_TOKEN")
        role_id = os.environ.get("VAULT_ROLE_ID")
        secret_id = os.environ.get("VAULT_SECRET_ID")
        if not token and not (role_id and secret_id):
            raise self._error(
                "no credentials: set VAULT_TOKEN, or VAULT_ROLE_ID and VAULT_SECRET_ID",
                retryable=False,
            )
        client = self._hvac.Client(url=self.url, token=token or None, timeout=self.timeout)
        if token:
            return client
        try:
            client.auth.approle.login(
                role_id=role_id, secret_id=secret_id, mount_point=self.approle_mount
            )
        except self._vault_errors() as exc:
            client.adapter.close()
            failure = self._failure("AppRole login failed", exc, secret=secret_id or "")
            raise failure from None
        return client

    def read_meta(self, path: str) -> RecordMeta | None:
        """Read the latest version and drop the secret; None when there is none."""
        self._checked(path)
        client = self._connected()
        kv = client.secrets.kv.v2
        try:
            response = kv.read_secret_version(
                path=path, mount_point=self.mount, raise_on_deleted_version=True
            )
        except self._hvac.exceptions.InvalidPath as exc:
            if _absent(exc):
                return None
            raise self._failure(f"cannot read {path!r}", exc) from None
        except self._vault_errors() as exc:
            raise self._failure(f"cannot read {path!r}", exc) from None
        data = (response.get("data") or {}).get("data")
        if not isinstance(data, dict):
            raise self._error(f"{path!r} holds no data", retryable=False)
        try:
            return RecordMeta.from_mapping(data, where=f"{self.mount}/{path}")
        except SecretStoreError as exc:
            raise self._error(exc.message) from None

    def write(self, path: str, record: SecretRecord) -> None:
        """Write a new version with `cas` set to the version read just before."""
        self._checked(path)
        client = self._connected()
        kv = client.secrets.kv.v2
        secret = record.client_secret
        version = self._current_version(kv, path)
        try:
            kv.create_or_update_secret(
                path=path, secret=record.to_dict(), cas=version, mount_point=self.mount
            )
        except self._hvac.exceptions.InvalidRequest as exc:
            if _CAS_MISMATCH in str(exc):
                raise SecretStoreConflictError(
                    f"vault store {self.name!r}: {self.mount}/{path} was written by someone"
                    f" else while certgov wrote it (expected version {version}); run plan again"
                ) from None
            raise self._failure(f"cannot write {path!r}", exc, secret) from None
        except self._vault_errors() as exc:
            raise self._failure(f"cannot write {path!r}", exc, secret) from None

    def _current_version(self, kv: Any, path: str) -> int:
        try:
            response = kv.read_secret_metadata(path=path, mount_point=self.mount)
        except self._hvac.exceptions.InvalidPath as exc:
            if _absent(exc):
                return 0
            raise self._failure(f"cannot read the metadata of {path!r}", exc) from None
        except self._vault_errors() as exc:
            raise self._failure(f"cannot read the metadata of {path!r}", exc) from None
        return int(response["data"]["current_version"])

    def _disconnect(self, client: Any) -> None:
        client.adapter.close()


def _absent(exc: Any) -> bool:
    """A 404 for a missing secret has no error text; one for a missing mount or route has."""
    return not getattr(exc, "errors", None)
