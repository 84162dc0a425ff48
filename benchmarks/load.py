"""Server throughput: requests per second of one call, from a load generator in another process
over loopback, for a bounded time.

`hey` (Debian package `hey`: `apt-get install hey`) is used when it is on PATH; otherwise this
module's own generator runs as a second Python process (threads over one httpx.Client each):

    python -m benchmarks.load URL METHOD --seconds S --concurrency C [--token T] [--body JSON]

which prints one JSON line: {"requests", "seconds", "rps", "statuses"}.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx

from benchmarks.measure import child_env


@dataclass(frozen=True)
class Throughput:
    call: str
    tool: str
    seconds: float
    concurrency: int
    requests: int
    rps: float
    statuses: dict[str, int]

    @property
    def ok(self) -> bool:
        return all(code.startswith("2") for code in self.statuses)


def _headers(token: str | None, body: str | None) -> dict[str, str]:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        headers["Content-Type"] = "application/json"
    return headers


def _with_hey(
    url: str, method: str, token: str | None, body: str | None, seconds: float, concurrency: int
) -> tuple[int, float, dict[str, int]]:
    argv = ["hey", "-z", f"{seconds}s", "-c", str(concurrency), "-m", method]
    for name, value in _headers(token, body).items():
        argv += ["-H", f"{name}: {value}"]
    if body is not None:
        argv += ["-d", body]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    statuses = {m[0]: int(m[1]) for m in re.findall(r"\[(\d{3})\]\s+(\d+) responses", out)}
    errors = re.search(r"Error distribution:(.*)", out, re.S)
    if errors and errors.group(1).strip():
        statuses["error"] = sum(int(n) for n in re.findall(r"\[(\d+)\]", errors.group(1)))
    return sum(statuses.values()), rps, statuses


def _with_python(
    url: str, method: str, token: str | None, body: str | None, seconds: float, concurrency: int
) -> tuple[int, float, dict[str, int]]:
    argv = [sys.executable, "-m", "benchmarks.load", url, method, "--seconds", str(seconds)]
    argv += ["--concurrency", str(concurrency)]
    if token:
        argv += ["--token", token]
    if body is not None:
        argv += ["--body", body]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, env=child_env()).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return int(result["requests"]), float(result["rps"]), dict(result["statuses"])


def measure(
    call: str,
    url: str,
    method: str,
    *,
    token: str | None = None,
    body: dict[str, Any] | None = None,
    seconds: float = 10.0,
    concurrency: int = 16,
) -> Throughput:
    text = None if body is None else json.dumps(body)
    use_hey = shutil.which("hey") is not None
    run = _with_hey if use_hey else _with_python
    requests, rps, statuses = run(url, method, token, text, seconds, concurrency)
    tool = "hey" if use_hey else "python"
    return Throughput(call, tool, seconds, concurrency, requests, rps, statuses)


# -- the fallback generator (runs in its own process) -------------------------------------------


def generate(
    url: str, method: str, token: str | None, body: str | None, seconds: float, concurrency: int
) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    headers = _headers(token, body)

    def worker() -> None:
        local: Counter[str] = Counter()
        with httpx.Client(timeout=30.0) as client:
            while time.monotonic() < deadline:
                try:
                    code = str(
                        client.request(method, url, headers=headers, content=body).status_code
                    )
                except httpx.TransportError:
                    code = "error"
                local[code] += 1
        with lock:
            statuses.update(local)

    start = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    total = sum(statuses.values())
    return {"requests": total, "seconds": elapsed, "rps": total / elapsed, "statuses": statuses}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load")
    parser.add_argument("url")
    parser.add_argument("method")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--token")
    parser.add_argument("--body")
    args = parser.parse_args(argv)
    result = generate(args.url, args.method, args.token, args.body, args.seconds, args.concurrency)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
