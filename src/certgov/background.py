"""Work done on a thread while the declarations load: reading the tenant, the file stores' records,
whether the folder is a clean git work tree."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Background(Generic[T]):
    """`work()` on a daemon thread named `name` once `start`ed. `result` waits for it (or, never
    started, runs it here) and answers what it returned, or raises what it raised: only then, so
    that an error found meanwhile on the main thread is reported first. Used in a `with` block,
    leaving it waits for the thread."""

    def __init__(self, work: Callable[[], T], name: str) -> None:
        self._work = work
        self._name = name
        self._thread: threading.Thread | None = None
        self._answer: tuple[T] | None = None
        self._error: BaseException | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._answer = (self._work(),)
        except BaseException as exc:
            self._error = exc

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def result(self) -> T:
        if self._thread is None and self._answer is None and self._error is None:
            self._run()
        self.join()
        if self._error is not None:
            raise self._error
        assert self._answer is not None
        return self._answer[0]

    def __enter__(self) -> Background[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.join()
