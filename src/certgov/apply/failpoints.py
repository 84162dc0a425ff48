"""Failpoints for crash tests: `CERTGOV_FAILPOINT=name[:n]` kills this process with SIGKILL when
the named point is reached for the n-th time (default the first). Read only by tests."""

from __future__ import annotations

import os
import signal
import threading

_lock = threading.Lock()
_hits: dict[str, int] = {}


def failpoint(name: str) -> None:
    spec = os.environ.get("CERTGOV_FAILPOINT")
    if not spec:
        return
    wanted, _, count = spec.partition(":")
    if wanted != name:
        return
    with _lock:
        _hits[name] = _hits.get(name, 0) + 1
        if _hits[name] >= int(count or 1):
            os.kill(os.getpid(), signal.SIGKILL)
