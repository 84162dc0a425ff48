"""Timing helpers: a child process's wall time and peak RSS, and in-process timings."""

from __future__ import annotations

import json
import os
import shutil
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
    cpu_seconds: float = 0.0


# A small process runs the measured one and reports its wall time and peak RSS. Measured from
# this (large) process instead, ru_maxrss would include this process's own RSS: Linux carries
# the pre-exec high-water mark of a forked (or vforked) child into its rusage.
_LAUNCHER = """\
import json, os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
with open(sys.argv[1], "w") as out:
    cpu = usage.ru_utime + usage.ru_stime
    json.dump({"seconds": seconds, "maxrss_kb": usage.ru_maxrss, "cpu_seconds": cpu}, out)
sys.exit(os.waitstatus_to_exitcode(status) % 256)
"""


def run_process(
    argv: Sequence[str], *, ok: Sequence[int] = (0,), cwd: Path | None = None
) -> ProcessRun:
    """Run `argv`, answering its wall time and peak RSS (the child's own, see _LAUNCHER)."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as tmp,
    ):
        report = Path(tmp) / "usage.json"
        launcher = [sys.executable, "-S", "-c", _LAUNCHER, str(report), *_resolved(argv)]
        code = subprocess.run(launcher, stdout=out, stderr=err, cwd=cwd, env=child_env()).returncode
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
        usage = json.loads(report.read_text()) if report.exists() else None
    if code not in ok or usage is None:
        raise BenchmarkError(f"{' '.join(argv[:4])} ... exited with {code}:\n{stderr[-3000:]}")
    # ru_maxrss is in kilobytes on Linux.
    peak = usage["maxrss_kb"] / 1024
    return ProcessRun(usage["seconds"], peak, code, stdout, stderr, usage["cpu_seconds"])


def _resolved(argv: Sequence[str]) -> list[str]:
    """execv needs a path: resolve the program through PATH."""
    program = shutil.which(argv[0]) or argv[0]
    return [program, *argv[1:]]


REPO_ROOT = Path(__file__).resolve().parent.parent


def child_env() -> dict[str, str]:
    """The environment with the repository root importable, so `-m benchmarks.x` works from
    any working directory, and bytecode written: an installed certgov runs from the bytecode
    pip wrote at install, while an editable checkout under PYTHONDONTWRITEBYTECODE would compile
    every module at every start (0.08 s of each command)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
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
