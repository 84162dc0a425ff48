"""Secret stores: where apply puts the client secrets it creates, and where plan checks them.

Build them from `certgov.yaml` with `build_stores`, write through `write_with_retry`, and check
with `read_meta` (which never returns the secret). `SecretStore` documents what a new backend
must promise.
"""

from __future__ import annotations

from certgov.apply.stores.aws import AwsStore, request_token
from certgov.apply.stores.azure import AzureKeyVaultStore
from certgov.apply.stores.base import (
    RecordMeta,
    SecretRecord,
    SecretStore,
    scrub,
)
from certgov.apply.stores.command import CommandStore
from certgov.apply.stores.config import STORE_TYPES, build_store, build_stores, parse_duration
from certgov.apply.stores.file import FileStore
from certgov.apply.stores.gcp import GcpSecretManagerStore
from certgov.apply.stores.retry import write_with_retry
from certgov.apply.stores.vault import VaultStore
from certgov.secretpath import gcp_secret_id, keyvault_name, validate_secret_path

__all__ = [
    "STORE_TYPES",
    "AwsStore",
    "AzureKeyVaultStore",
    "CommandStore",
    "FileStore",
    "GcpSecretManagerStore",
    "RecordMeta",
    "SecretRecord",
    "SecretStore",
    "VaultStore",
    "build_store",
    "build_stores",
    "gcp_secret_id",
    "keyvault_name",
    "parse_duration",
    "request_token",
    "scrub",
    "validate_secret_path",
    "write_with_retry",
]
