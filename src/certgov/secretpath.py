"""The one rule for secret-store paths, shared by validate (declarations) and every store."""

from __future__ import annotations

import re

from certgov.errors import SecretStoreError

# Segments of letters, digits, `.`, `_`, `-`, never starting with a dot: this rules out `..`,
# hidden files, absolute paths, backslashes and NUL in one place, and every backend (file names,
# Vault paths, AWS secret names) accepts the result as is.
_SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9._-]*"
_PATH_RE = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")
MAX_PATH_LENGTH = 256


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
