"""The rules of secret-store paths and names, shared by validate (declarations) and the stores:
which paths every store accepts, how a cloud store names the secret of a path, and which extra
each store type needs. Nothing here imports a store or its SDK."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable

from certgov.errors import SecretStoreError

# Segments of letters, digits, `.`, `_`, `-`, never starting with a dot: this rules out `..`,
# hidden files, absolute paths, backslashes and NUL in one place, and every backend (file names,
# Vault paths, AWS secret names) accepts the result as is.
_SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9._-]*"
_PATH_RE = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")
MAX_PATH_LENGTH = 256
MAX_KEYVAULT_NAME = 127
_KEYVAULT_MAPPED = re.compile(r"[/._]")
MAX_GCP_ID = 255
_GCP_MAPPED = re.compile(r"[/.]")


def validate_secret_path(path: str) -> str:
    """Return `path` when it is a relative `a/b/c` path every store accepts, else raise."""
    if not isinstance(path, str) or not path:
        raise SecretStoreError("secret path must be a non-empty string", retryable=False)
    if len(path) > MAX_PATH_LENGTH or _PATH_RE.fullmatch(path) is None:
        raise SecretStoreError(
            f"secret path {path!r} is not allowed: use relative segments of letters, digits,"
            f" '.', '_' and '-' separated by '/', none starting with '.'"
            f" (at most {MAX_PATH_LENGTH} characters)",
            retryable=False,
        )
    return path


def keyvault_name(path: str) -> str:
    """The Key Vault secret name of a secret path: lower case, `/`, `.` and `_` as `-`."""
    name = _KEYVAULT_MAPPED.sub("-", path.lower())
    if len(name) > MAX_KEYVAULT_NAME:
        raise SecretStoreError(
            f"secret path {path!r} is too long for Key Vault: the name {name!r} has"
            f" {len(name)} characters (at most {MAX_KEYVAULT_NAME})",
            retryable=False,
        )
    return name


def gcp_secret_id(path: str) -> str:
    """The Secret Manager secret id of a secret path: each `/` and `.` as `-`."""
    secret_id = _GCP_MAPPED.sub("-", path)
    if len(secret_id) > MAX_GCP_ID:
        raise SecretStoreError(
            f"secret path {path!r} is too long for Secret Manager: the id has"
            f" {len(secret_id)} characters (at most {MAX_GCP_ID})",
            retryable=False,
        )
    return secret_id


# The extra each store type needs, and the modules of it the store imports.
EXTRAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "vault": ("vault", ("hvac",)),
    "aws": ("aws", ("boto3",)),
    "azure-keyvault": ("azure", ("azure.keyvault.secrets", "azure.identity")),
    "gcp-secret-manager": ("gcp", ("google.cloud.secretmanager",)),
}
# How a store type names the secret of a path, where that is not the path itself.
_NAMES: dict[str, Callable[[str], str]] = {
    "azure-keyvault": keyvault_name,
    "gcp-secret-manager": gcp_secret_id,
}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package is missing
        return False


def missing_extra(store_type: str) -> str | None:
    """What to install when the extra that `store_type` needs is missing; None when present.

    Found without importing the client library: `certgov validate` stays fast.
    """
    extra, modules = EXTRAS.get(store_type, ("", ()))
    if all(_installed(module) for module in modules):
        return None
    return (
        f"the {store_type} store needs certgov's '{extra}' extra, which is not installed;"
        f" run: pip install 'certgov[{extra}]'"
    )


def secret_name(store_type: str, path: str) -> str:
    """The name under which a store of `store_type` keeps secret path `path`.

    Raises SecretStoreError when the path is refused or cannot be mapped, with the message the
    store itself would give.
    """
    validate_secret_path(path)
    name = _NAMES.get(store_type)
    return name(path) if name else path
