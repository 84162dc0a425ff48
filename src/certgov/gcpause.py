"""Pausing Python's cyclic garbage collector while a large, acyclic structure is built."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0
_resume = False  # whether the collector was on when the first pause began
_freeze = False


def freeze_after_pauses() -> None:
    """For a short-lived process (the CLI): what the pauses build is kept till the process
    ends, so when the last pause ends it is moved out of the collector's view (`gc.freeze`).
    Else the first collection afterwards would walk every object built meanwhile, and the full
    ones every object kept: a tenth of a second each at ten thousand accounts."""
    global _freeze
    _freeze = True


@contextmanager
def gc_paused() -> Iterator[None]:
    """Build without the collector: every full collection walks every object made so far, which
    costs about a quarter of the time of loading or reading thousands of objects. What is built
    here holds no reference cycles, so reference counting frees it all the same.

    Pauses may overlap, on several threads (the declarations load while live state is read):
    the collector resumes when the last one ends, if it was on when the first began."""
    global _pauses, _resume
    with _lock:
        if _pauses == 0:
            _resume = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0:
                if _freeze:
                    gc.freeze()
                if _resume:
                    gc.enable()
