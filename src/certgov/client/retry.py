"""When a failed call may be sent again, and how long to wait first.

Which calls are retried (the rule ClmClient applies):

- a 429 answer, on every call: the server refused it before doing anything. The wait is the
  `Retry-After` header when present (a wait longer than `max_retry_after`, such as a login lockout,
  is not waited for: the error says when to try again), else the backoff;
- a connection that never reached the server (`httpx.ConnectError`, connect and pool timeouts),
  on every call, for the same reason;
- any other transport error (read timeout, dropped connection: the answer was lost, the call may
  have happened) only on idempotent calls: GET, PUT, DELETE, login, revoke, and POSTs to
  `/enable`, `/disable` and `/validate`, which leave the same state however often they run.
  Creates are retried only when they carry an `Idempotency-Key` (the server then replays the
  first answer instead of creating twice). `regenerate-secret` is never retried: a second call
  would mint another secret.

Every retry is bounded by `max_attempts` in all and by `max_elapsed` seconds since the first try.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx


def full_jitter(cap: float) -> float:
    """A uniformly random wait in [0, cap] (AWS's "full jitter"); not security-relevant."""
    return random.uniform(0.0, cap)  # noqa: S311 - spreading retries needs no CSPRNG


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds and shape of the retries; `jitter` is injectable so tests can pin the waits."""

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_elapsed: float = 120.0
    max_retry_after: float = 60.0
    jitter: Callable[[float], float] = field(default=full_jitter, compare=False)

    def backoff(self, attempt: int) -> float:
        """The wait after failed attempt `attempt` (1-based): exponential, capped, jittered."""
        cap = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return self.jitter(cap)

    def allows(self, attempt: int, elapsed: float, delay: float) -> bool:
        """Whether another attempt fits in both the count and the time budget."""
        return attempt < self.max_attempts and elapsed + delay <= self.max_elapsed


NO_RETRY = RetryPolicy(max_attempts=1)

# These never put a byte on the wire, so even a non-idempotent call may be sent again.
NOT_SENT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)

_IDEMPOTENT_POST_SUFFIXES = ("/enable", "/disable", "/validate", "/service-account/auth")


def is_idempotent(method: str, path: str, *, idempotency_key: str | None = None) -> bool:
    """Whether sending the call twice leaves the same state as sending it once."""
    method = method.upper()
    if method in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS"):
        return True
    if idempotency_key:
        return True
    # Login mints one more session at worst; revoking twice revokes once.
    return path.endswith(_IDEMPOTENT_POST_SUFFIXES) or path.endswith("/auth/revoke")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header; the contract sends seconds, anything else is None."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(seconds, 0.0)
