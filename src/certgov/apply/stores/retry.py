"""Retrying a store write with exponential backoff."""

from __future__ import annotations

import time
from collections.abc import Callable

from certgov.apply.stores.base import SecretRecord, SecretStore
from certgov.errors import SecretStoreError


def write_with_retry(
    store: SecretStore,
    path: str,
    record: SecretRecord,
    *,
    attempts: int = 3,
    sleep: Callable[[float], None] = time.sleep,
    base_delay: float = 0.5,
    max_delay: float = 8.0,
) -> None:
    """Write, retrying retryable failures after `base_delay`, then twice as long each time.

    Stores make writes of the same record harmless to repeat, so retrying is safe. A failure
    marked not retryable (a bad path, a check-and-set conflict) is raised at once; after the last
    attempt the last error is raised with the number of attempts added.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for attempt in range(1, attempts + 1):
        try:
            store.write(path, record)
            return
        except SecretStoreError as exc:
            if not exc.retryable:
                raise
            if attempt == attempts:
                raise type(exc)(f"{exc.message} (gave up after {attempts} attempts)") from None
            sleep(min(base_delay * 2 ** (attempt - 1), max_delay))
