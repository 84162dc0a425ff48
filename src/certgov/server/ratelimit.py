"""A token bucket per route family and client address, on the injected clock (so tests can step
time)."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from datetime import datetime

from certgov.server import problems

MAX_BUCKETS = 10_000


class RateLimiter:
    """`rate` tokens per second refill a bucket of `2 * rate`; rate 0 means no limit.

    Each route family (login, validate) has its own buckets, so that a flood of one never
    refuses the other.
    """

    def __init__(self, rate: float, clock: Callable[[], datetime]) -> None:
        self.rate = rate
        self.burst = 2 * rate
        self.clock = clock
        self._buckets: dict[tuple[str, str], tuple[float, datetime]] = {}
        self._lock = threading.Lock()

    def check(self, family: str, client: str) -> None:
        """Take one token from the client's bucket of the family, or raise 429 with the seconds
        until one is available."""
        if self.rate <= 0:
            return
        key = (family, client)
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (self.burst, now))
            elapsed = max(0.0, (now - at).total_seconds())
            tokens = min(self.burst, tokens + elapsed * self.rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                wait = math.ceil((1 - tokens) / self.rate)
                raise problems.too_many_requests(wait, "too many requests; slow down")
            if len(self._buckets) >= MAX_BUCKETS and key not in self._buckets:
                self._forget_full(now)
            self._buckets[key] = (tokens - 1, now)

    def _forget_full(self, now: datetime) -> None:
        # A bucket that has refilled completely carries no information: drop it.
        full_after = self.burst / self.rate
        for key, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at).total_seconds() * self.rate >= self.burst or (
                (now - at).total_seconds() >= full_after
            ):
                del self._buckets[key]
