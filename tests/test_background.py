"""Background: work on a named thread, its answer or its error given when waited for."""

from __future__ import annotations

import threading

import pytest

from certgov.background import Background


def test_the_work_runs_on_its_thread_and_result_waits_for_it() -> None:
    release = threading.Event()
    ran_on: list[str] = []

    def work() -> int:
        ran_on.append(threading.current_thread().name)
        assert release.wait(10)
        return 42

    with Background(work, "certgov-test") as background:
        background.start()
        release.set()
        assert background.result() == 42
        assert background.result() == 42
    assert ran_on == ["certgov-test"]


def test_an_error_is_raised_only_by_result() -> None:
    def work() -> int:
        raise ValueError("the work failed")

    with Background(work, "certgov-test") as background:
        background.start()
        background.join()  # the thread has ended; nothing raised yet
        with pytest.raises(ValueError, match="the work failed"):
            background.result()


def test_never_started_the_work_runs_here_once() -> None:
    calls: list[str] = []

    def work() -> str:
        calls.append(threading.current_thread().name)
        return "done"

    background = Background(work, "certgov-test")
    assert (background.result(), background.result()) == ("done", "done")
    assert calls == [threading.current_thread().name]


def test_leaving_the_block_waits_for_the_thread() -> None:
    finished = threading.Event()

    def work() -> None:
        threading.Event().wait(0.05)
        finished.set()

    with Background(work, "certgov-test") as background:
        background.start()
    assert finished.is_set()
