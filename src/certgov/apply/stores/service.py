"""What the stores that talk to a secrets service share: error wording, one client, closing."""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from certgov.apply.stores.base import scrub
from certgov.errors import SecretStoreError
from certgov.secretpath import validate_secret_path


class ServiceStore:
    """A base for stores backed by a service's client library (vault, aws, azure, gcp).

    Subclasses set `kind` (the store type, the first word of every error), build the client in
    `_connect` and release it in `_disconnect`; the client is built on first use, once, under a
    lock, because apply calls the store from several threads.
    """

    kind: ClassVar[str]

    def __init__(self, name: str) -> None:
        self.name = name
        self._client: Any = None
        self._lock = threading.Lock()

    def _error(self, message: str, *, secret: str = "", retryable: bool = True) -> SecretStoreError:
        """`<kind> store '<name>': <message>`, with the secret masked in every encoding."""
        return SecretStoreError(
            scrub(f"{self.kind} store {self.name!r}: {message}", secret), retryable=retryable
        )

    def _checked(self, path: str) -> str:
        """`path` when every store accepts it (see validate_secret_path), else a store error."""
        try:
            return validate_secret_path(path)
        except SecretStoreError as exc:
            raise self._error(exc.message, retryable=False) from None

    def _connected(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> Any:
        raise NotImplementedError

    def _disconnect(self, client: Any) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release the client's connections; the store may connect again afterwards."""
        with self._lock:
            if self._client is not None:
                self._disconnect(self._client)
                self._client = None
