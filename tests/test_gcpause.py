"""gc_paused: the collector stays off while any pause lasts, on any thread, and comes back on
after the last one only if it was on before the first."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from certgov import gcpause
from certgov.gcpause import gc_paused


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_overlapping_pauses_on_two_threads_resume_after_the_last() -> None:
    entered, leave = threading.Event(), threading.Event()

    def other() -> None:
        with gc_paused():
            entered.set()
            leave.wait(5)

    thread = threading.Thread(target=other)
    with gc_paused():
        thread.start()
        assert entered.wait(5)
    assert not gc.isenabled()  # the other thread's pause still lasts
    leave.set()
    thread.join()
    assert gc.isenabled()


def test_a_pause_leaves_a_disabled_collector_disabled() -> None:
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_a_short_lived_process_freezes_what_the_pauses_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gcpause, "_freeze", False)
    before = gc.get_freeze_count()
    with gc_paused():
        built = [{"n": n} for n in range(1000)]
    assert gc.get_freeze_count() == before
    gcpause.freeze_after_pauses()
    try:
        with gc_paused():
            built += [{"n": n} for n in range(1000)]
        assert gc.get_freeze_count() >= before + len(built)
    finally:
        gc.unfreeze()
