"""Credentials: generation, digests and constant-time comparison.

Client secrets are stored as HMAC-SHA-256 under a server key kept in the database (a keyed
digest: the accounts table alone cannot be used to test guesses offline, and the secrets carry 380
bits of entropy anyway); session tokens as plain SHA-256 (they are random and short-lived).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

ALPHANUMERIC = string.ascii_letters + string.digits
LOWER_ALPHANUMERIC = string.ascii_lowercase + string.digits
SECRET_LENGTH = 64
TOKEN_LENGTH = 64
CLIENT_ID_PREFIX = "svc_"


def random_string(length: int, alphabet: str = ALPHANUMERIC) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def new_secret() -> str:
    """64 characters of [A-Za-z0-9]: log2(62) * 64 ≈ 381 bits."""
    return random_string(SECRET_LENGTH)


def new_token() -> str:
    return random_string(TOKEN_LENGTH)


def new_client_id() -> str:
    return CLIENT_ID_PREFIX + random_string(32, LOWER_ALPHANUMERIC)


def new_server_key() -> str:
    return secrets.token_hex(32)


def secret_digest(server_key: str, secret: str) -> str:
    return hmac.new(bytes.fromhex(server_key), secret.encode(), hashlib.sha256).hexdigest()


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time equality of two strings."""
    return hmac.compare_digest(a.encode(), b.encode())
