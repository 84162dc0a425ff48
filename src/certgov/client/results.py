"""Typed answers of the client: sessions, single objects with their ETag, issued secrets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from certgov.client.credentials import Credentials

# A list item is the object exactly as the API lists it; its "etag" field is the object's ETag.
ListItem = dict[str, Any]


@dataclass(frozen=True)
class SessionInfo:
    """The current session as the server sees it (login or `GET /service-account/auth/verify`)."""

    account_uuid: str
    account_name: str
    scopes: tuple[str, ...]
    expires_at: datetime
    expires_in: int


@dataclass(frozen=True)
class ObjectResult:
    """One policy or service account from a single-object answer, with the ETag it carried.

    `replayed` is true when the server answered an `Idempotency-Key` repeat with the first answer.
    """

    data: dict[str, Any]
    etag: str | None
    status: int = 200
    replayed: bool = False


@dataclass(frozen=True)
class SecretResult(ObjectResult):
    """A service account answer that may carry a new secret (create, regenerate-secret).

    `credentials` is None when the server replayed the answer without the secret.
    """

    credentials: Credentials | None = None
