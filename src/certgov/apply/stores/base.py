"""The secret record, its metadata, the SecretStore protocol and the rules every store shares."""

from __future__ import annotations

import base64
import importlib
import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from certgov.errors import SecretStoreError
from certgov.state import normalise_timestamp

RECORD_FIELDS = ("uuid", "client_id", "client_secret", "secret_created_at", "server_url")
META_FIELDS = ("uuid", "client_id", "secret_created_at", "server_url")

_HIDDEN = "***"


def import_optional(module: str, extra: str) -> Any:
    """Import an optional dependency, naming the extra that provides it when it is missing."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise SecretStoreError(
            f"{module} is not installed: install certgov with the '{extra}' extra"
            f" (pip install 'certgov[{extra}]')",
            retryable=False,
        ) from None


def scrub(text: str, secret: str) -> str:
    """`text` with the secret and its base64, URL-encoded and JSON-escaped forms masked."""
    if not secret:
        return text
    forms = {
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        json.dumps(secret)[1:-1],
        base64.b64encode(secret.encode()).decode(),
        base64.urlsafe_b64encode(secret.encode()).decode(),
    }
    # Longest first, so that a form containing another is masked whole.
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, _HIDDEN)
    return text


def _require_strings(data: Mapping[str, Any], names: tuple[str, ...], where: str) -> None:
    missing = [name for name in names if not isinstance(data.get(name), str) or not data[name]]
    if missing:
        # Names only, never values: the mapping may hold the secret.
        raise SecretStoreError(
            f"{where} is not a certgov secret record: missing or empty {', '.join(missing)}",
            retryable=False,
        )


def _timestamp(value: str, where: str) -> str:
    try:
        normalised = normalise_timestamp(value)
    except ValueError:
        raise SecretStoreError(
            f"{where} is not a certgov secret record: secret_created_at {value!r} is not a"
            " timestamp",
            retryable=False,
        ) from None
    assert normalised is not None  # a non-empty string never normalises to None
    return normalised


@dataclass(frozen=True)
class RecordMeta:
    """What a store may tell about a record without the secret: enough to see it is current.

    `secret_created_at` is normalised like the live state's (RFC 3339, UTC, seconds), so the
    planner compares like with like.
    """

    uuid: str
    client_id: str
    secret_created_at: str
    server_url: str

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, where: str) -> RecordMeta:
        """Build from a record or metadata mapping; a `client_secret` in it is ignored."""
        _require_strings(data, META_FIELDS, where)
        return cls(
            uuid=data["uuid"],
            client_id=data["client_id"],
            secret_created_at=_timestamp(data["secret_created_at"], where),
            server_url=data["server_url"],
        )

    def to_dict(self) -> dict[str, str]:
        """The metadata as a JSON-ready mapping."""
        return {name: getattr(self, name) for name in META_FIELDS}


@dataclass(frozen=True)
class SecretRecord:
    """One service account's credentials as a store keeps them. `repr` never shows the secret."""

    uuid: str
    client_id: str
    client_secret: str
    secret_created_at: str
    server_url: str

    def __post_init__(self) -> None:
        _require_strings(self.__dict__, RECORD_FIELDS, "the record")
        _timestamp(self.secret_created_at, "the record")

    def __repr__(self) -> str:
        return (
            f"SecretRecord(uuid={self.uuid!r}, client_id={self.client_id!r},"
            f" client_secret='{_HIDDEN}', secret_created_at={self.secret_created_at!r},"
            f" server_url={self.server_url!r})"
        )

    __str__ = __repr__

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, where: str) -> SecretRecord:
        """Build from the JSON record; errors name missing fields, never values."""
        _require_strings(data, RECORD_FIELDS, where)
        return cls(**{name: data[name] for name in RECORD_FIELDS})

    def to_dict(self) -> dict[str, str]:
        """The record as a JSON-ready mapping, secret included: for stores only."""
        return {name: getattr(self, name) for name in RECORD_FIELDS}

    def to_json(self) -> str:
        """The JSON record: uuid, client_id, client_secret, secret_created_at, server_url."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def meta(self) -> RecordMeta:
        """The record without its secret."""
        return RecordMeta.from_mapping(self.to_dict(), where="the record")


class SecretStore(Protocol):
    """Where apply puts a newly generated client secret, and where plan checks it is current.

    A store is named by its key under `secret_stores` in `certgov.yaml` and addressed by a
    secret path such as `ci/policy-validation` (see `validate_secret_path`; every store must
    refuse a path that fails it). Implementations must keep these promises:

    - `write` stores the whole record durably, or raises `SecretStoreError`; a half-written record
      is never visible. Writing the same record twice is harmless (apply retries writes).
    - `read_meta` returns the record's `RecordMeta` or `None` when there is none. It never
      returns, logs or raises with the secret; stores that hold the full record drop the secret
      before returning.
    - Error messages never contain the secret in any encoding (use `scrub`). Exceptions from
      client libraries are not chained (`raise ... from None`), because their text is unknown and
      `--debug` prints whole chains. Set `retryable=False` when trying again cannot help (a bad
      path, a rejected configuration); raise `SecretStoreConflictError` when a concurrent writer
      is detected.
    - Methods are safe to call from several threads at once (apply writes in parallel).
    - `close` releases connections; it is idempotent, and the store is not used afterwards.
    """

    name: str

    def read_meta(self, path: str) -> RecordMeta | None:
        """The metadata of the record at `path`, or None when there is no record."""
        ...

    def write(self, path: str, record: SecretRecord) -> None:
        """Store `record` at `path`, replacing any record there."""
        ...

    def close(self) -> None:
        """Release connections and other resources."""
        ...
