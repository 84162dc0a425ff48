"""ETag and If-Match (contract §5.5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from certgov.server import problems


def etag(object_id: object, revision: int) -> str:
    """A strong validator: the object's id and its revision, which every change bumps."""
    return f'"{object_id}-{revision}"'


def check_if_match(
    if_match: str | None,
    current_etag: str,
    current: Callable[[], dict[str, Any]],
) -> None:
    """Refuse with 412 and the current object unless `If-Match` is absent or matches."""
    if if_match is None:
        return
    candidates = [c.strip() for c in if_match.split(",")]
    # Weak validators (W/"...") never match under the strong comparison If-Match requires.
    if "*" in candidates or current_etag in candidates:
        return
    raise problems.precondition_failed(current())
