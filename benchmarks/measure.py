"""Timing helpers: a child process's wall time and peak RSS, and in-process timings."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


class BenchmarkError(RuntimeError):
    """A measured step failed, so its figure would mean nothing."""


@dataclass(frozen=True)
class ProcessRun:
    seconds: float
    peak_rss_mb: float
    exit_code: int
    stdout: str
    stderr: str


def run_process(
    argv: Sequence[str], *, ok: Sequence[int] = (0,), cwd: Path | None = None
) -> ProcessRun:
    """Run `argv`, answering its wall time and the peak RSS of that one child (from wait4, so
    other children of this process do not count)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdout=out, stderr=err, cwd=cwd, env=child_env())
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    if proc.returncode not in ok:
        raise BenchmarkError(
            f"{' '.join(argv[:4])} ... exited with {proc.returncode}:\n{stderr[-3000:]}"
        )
    # ru_maxrss is in kilobytes on Linux.
    return ProcessRun(seconds, usage.ru_maxrss / 1024, proc.returncode, stdout, stderr)


REPO_ROOT = Path(__file__).resolve().parent.parent


def child_env() -> dict[str, str]:
    """The environment with the repository root importable, so `-m benchmarks.x` works from
    any working directory."""
    env = dict(os.environ)
    parts = [str(REPO_ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(parts)
    return env


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


@dataclass(frozen=True)
class Timing:
    best: float
    median: float
    runs: int


def time_calls(fn: Callable[[], object], repeat: int) -> Timing:
    """Best and median wall time of `repeat` calls."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return Timing(min(samples), statistics.median(samples), repeat)
