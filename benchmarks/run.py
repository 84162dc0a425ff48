"""`python -m benchmarks`: certgov plan and apply at scale against the naive way, in one run.

    python -m benchmarks                 # N = 1,000 / 5,000 / 10,000 accounts (+ N/5 policies)
    python -m benchmarks --large         # and 20,000
    python -m benchmarks --postgres      # on PostgreSQL at 127.0.0.1:5432 (user postgres)
    python -m benchmarks --quick         # a smoke size, for CI

See benchmarks/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import platform
import socket
import sys
import tempfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.report import VALIDATE_AT, plot, summarise, table, targets, write_json
from benchmarks.scenarios import Options, bench_apply, bench_size, bench_validate

RESULTS = Path(__file__).resolve().parent / "results"
SIZES = (1000, 5000, 10000)
LARGE = 20000
QUICK_SIZES = (50, 100)
BACKTEST_REQUESTS = 10000
QUICK_BACKTEST_REQUESTS = 200
VERSIONED = (
    "certgov",
    "httpx",
    "fastapi",
    "uvicorn",
    "sqlalchemy",
    "psycopg",
    "pydantic",
    "pyyaml",
)


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="Tiny sizes and short loads (CI).")
    parser.add_argument("--large", action="store_true", help="Also measure 20,000 accounts.")
    parser.add_argument("--postgres", action="store_true", help="Run the server on PostgreSQL.")
    parser.add_argument(
        "--sizes",
        type=lambda s: tuple(int(x) for x in s.split(",")),
        help="Account counts, e.g. 1000,5000.",
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS, help="Where to write results.")
    parser.add_argument("--no-apply", action="store_true", help="Skip the apply runs.")
    parser.add_argument("--no-throughput", action="store_true", help="Skip the load generator.")
    parser.add_argument(
        "--apply-rtt-ms",
        type=float,
        default=20.0,
        help="Also run the apply figures behind this simulated round trip (0: loopback only).",
    )
    parser.add_argument(
        "--plan-rtt-ms",
        type=float,
        default=20.0,
        help="Also run the unchanged plan and the naive baseline behind this round trip (0: not).",
    )
    parser.add_argument(
        "--backtest-requests",
        type=int,
        help=f"Recent requests for the back-test figures (default {BACKTEST_REQUESTS:,},"
        f" {QUICK_BACKTEST_REQUESTS} with --quick; 0: no back-test).",
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> dict[str, Any]:
    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    if args.large and LARGE not in sizes:
        sizes = (*sizes, LARGE)
    options = Options(
        postgres=args.postgres,
        plan_repeat=1 if args.quick else 3,
        planner_repeat=2 if args.quick else 5,
        load_seconds=1.0 if args.quick else 10.0,
        load_concurrency=4 if args.quick else 16,
        apply_creates=30 if args.quick else 1000,
        apply_rtt_ms=args.apply_rtt_ms,
        plan_rtt_ms=args.plan_rtt_ms,
        backtest_requests=_backtest_requests(args),
    )
    headline = 10000 if 10000 in sizes else max(sizes)
    started = datetime.now(UTC)
    results: dict[str, Any] = {
        "meta": {
            "started_at": started.replace(microsecond=0).isoformat(),
            "host": socket.gethostname(),
            "platform": platform.platform(),
            "cpus": _cpu_count(),
            "database": "postgresql" if args.postgres else "sqlite",
            "quick": bool(args.quick),
            "argv": sys.argv[1:],
            "versions": _versions(),
        },
        "sizes": [],
        "validate": [],
        "apply": [],
    }
    with tempfile.TemporaryDirectory(prefix="certgov-bench-") as tmp:
        workdir = Path(tmp)
        for n in sizes:
            print(f"... {n:,} accounts", file=sys.stderr, flush=True)
            results["sizes"].append(
                bench_size(
                    n,
                    workdir,
                    options,
                    headline=n == headline,
                    with_throughput=not args.no_throughput,
                )
            )
        if not args.no_throughput:
            for policies in VALIDATE_AT:
                print(f"... validate at {policies:,} enabled policies", file=sys.stderr, flush=True)
                results["validate"].append(bench_validate(policies, workdir, options))
        if not args.no_apply:
            for rtt_ms in dict.fromkeys((0.0, options.apply_rtt_ms)):
                for parallelism in (1, 8):
                    print(
                        f"... apply at --parallelism {parallelism}, round trip {rtt_ms:g} ms",
                        file=sys.stderr,
                        flush=True,
                    )
                    results["apply"].append(bench_apply(parallelism, workdir, options, rtt_ms))
    results["meta"]["seconds"] = round((datetime.now(UTC) - started).total_seconds(), 1)
    results["summary"] = summarise(
        results["sizes"], results["apply"], results["meta"]["cpus"], results["validate"]
    )
    results["targets"] = targets(results["summary"])
    return results


def _backtest_requests(args: argparse.Namespace) -> int:
    if args.backtest_requests is not None:
        return max(0, int(args.backtest_requests))
    return QUICK_BACKTEST_REQUESTS if args.quick else BACKTEST_REQUESTS


def _cpu_count() -> int:
    import os

    return os.cpu_count() or 0


def output_stem(args: argparse.Namespace, when: datetime) -> str:
    stem = f"{when.date().isoformat()}-{socket.gethostname()}"
    if args.postgres:
        stem += "-postgres"
    if args.quick:
        stem += "-quick"
    return stem


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = run(args)
    stem = output_stem(args, datetime.now(UTC))
    json_path = args.results_dir / f"{stem}.json"
    png_path = args.results_dir / f"{stem}.png"
    database = results["meta"]["database"]
    title = f"certgov plan vs one GET per object ({database}, 2 cores)"
    plotted = plot(png_path, results["sizes"], title)
    results["meta"]["plot"] = png_path.name if plotted else None
    write_json(json_path, results)
    print(table(results))
    print(f"\nresults: {json_path}")
    if plotted:
        print(f"plot:    {png_path}")
    else:
        print("plot:    skipped: matplotlib is not installed (pip install -e '.[bench]')")
    return 0
