"""The measured scenarios, each against its own server process and database."""

from __future__ import annotations

import gc
import json
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from benchmarks.generate import (
    Dataset,
    account_path,
    make_dataset,
    policy_path,
    seed_accounts,
    seed_policies,
    write_repo,
    write_secrets,
)
from benchmarks.load import measure as measure_throughput
from benchmarks.measure import BenchmarkError, python_module, run_process, time_calls
from benchmarks.server import RunningServer, bootstrap, fresh_database, start_server
from certgov.client import ClmClient, Credentials

EXIT_CHANGES = 2


@dataclass(frozen=True)
class Options:
    postgres: bool
    plan_repeat: int
    planner_repeat: int
    load_seconds: float
    load_concurrency: int
    apply_creates: int
    apply_rtt_ms: float = 0
    # False only to try the benchmark against a server without the policy endpoints.
    policies: bool = True


def _api_args(server: RunningServer) -> list[str]:
    return ["--url", server.url, "--credentials", str(server.admin_file)]


def _counted(workdir: Path, args: list[str], ok: tuple[int, ...]) -> tuple[dict[str, Any], Any]:
    """Run `python -m benchmarks.probe` (the CLI, counting requests); answer the counts."""
    count_file = workdir / "count.json"
    run = run_process(python_module("benchmarks.probe", str(count_file), *args), ok=ok)
    return json.loads(count_file.read_text()), run


def _certgov_plan(repo: Path, server: RunningServer, ok: tuple[int, ...]) -> Any:
    args = ["plan", str(repo), *_api_args(server), "--detailed-exitcode", "--no-color"]
    return run_process(python_module("certgov", *args), ok=ok)


def _planner_alone(repo: Path, server: RunningServer, repeat: int) -> dict[str, Any]:
    """Load, read and gather in-process (timed separately), then the pure planner on the
    preloaded States, `repeat` times."""
    from certgov.client.live import read_live_state
    from certgov.declarations import load
    from certgov.plan import Facts, plan
    from certgov.run.facts import open_stores, store_facts
    from certgov.run.plan import plan_options

    load_t = time_calls(lambda: load(repo), 1)
    decls = load(repo)
    with ClmClient(server.url, Credentials.from_file(server.admin_file)) as client:
        holder: dict[str, Any] = {}
        read_t = time_calls(lambda: holder.update(live=read_live_state(client)), 1)
        live = holder["live"]
    with open_stores(decls) as stores:
        facts_t = time_calls(lambda: holder.update(rec=store_facts(decls.state, stores)), 1)
    facts = Facts(now=datetime.now(UTC).replace(microsecond=0), store_records=holder["rec"])
    options = plan_options(decls.config)
    result = plan(decls.state, live, facts, options)
    if result.has_changes:
        raise BenchmarkError(f"the planner found changes in a seeded tenant: {result.summary()}")
    # As timeit does, keep the collector from charging the planner for the heap it was handed:
    # the preloaded States are frozen (moved out of the collector's view) for the headline figure;
    # the figure with everything in view is kept beside it.
    gc.collect()
    as_is = time_calls(lambda: plan(decls.state, live, facts, options), repeat)
    gc.freeze()
    try:
        planner_t = time_calls(lambda: plan(decls.state, live, facts, options), repeat)
    finally:
        gc.unfreeze()
    return {
        "objects": len(decls.state),
        "planner_seconds": planner_t.best,
        "planner_seconds_median": planner_t.median,
        "planner_seconds_gc_unfrozen": as_is.best,
        "planner_runs": planner_t.runs,
        "load_seconds": load_t.best,
        "read_seconds": read_t.best,
        "store_facts_seconds": facts_t.best,
    }


def _change_one_percent(repo: Path, dataset: Dataset) -> dict[str, int]:
    """Change the description of every 100th account and policy declaration."""
    accounts = dataset.accounts[::100]
    policies = dataset.policies[::100]
    for body in accounts:
        path = account_path(repo, body["name"])
        path.write_text(
            path.read_text().replace(body["description"], body["description"] + " (v2)")
        )
    for body in policies:
        path = policy_path(repo, body["name"])
        path.write_text(
            path.read_text().replace(body["description"], body["description"] + " (v2)")
        )
    return {"accounts": len(accounts), "policies": len(policies)}


def _login(server: RunningServer) -> tuple[dict[str, str], str]:
    creds = json.loads(server.admin_file.read_text())
    answer = httpx.post(f"{server.url}/api/v1/service-account/auth", json=creds, timeout=30)
    answer.raise_for_status()
    return creds, str(answer.json()["session"]["token"])


VALIDATE_REQUEST = {
    "action": "certificate.generate",
    "common_name": "api.payments0.example.com",
    "sans": {"dns": ["api.payments0.example.com"]},
    "key": {"algorithm": "rsa", "size": 3072},
    "digest": "sha256",
    "validity_days": 90,
    "subject": {"organization": "Example Ltd", "country": "NZ"},
}


def throughput(
    server: RunningServer, options: Options, *, validate: bool = True
) -> list[dict[str, Any]]:
    """login, verify and validate, each for `load_seconds`, from a second process."""
    creds, token = _login(server)
    base = f"{server.url}/api/v1"
    calls = [
        ("login", f"{base}/service-account/auth", "POST", None, creds),
        ("verify", f"{base}/service-account/auth/verify", "GET", token, None),
        (
            "validate",
            f"{base}/service/policies/validate",
            "POST",
            token,
            {"request": VALIDATE_REQUEST},
        ),
    ]
    results = []
    if not validate:
        calls.pop()
    for call, url, method, bearer, body in calls:
        figure = measure_throughput(
            call,
            url,
            method,
            token=bearer,
            body=body,
            seconds=options.load_seconds,
            concurrency=options.load_concurrency,
        )
        if not figure.ok:
            raise BenchmarkError(f"{call} under load answered {figure.statuses}")
        results.append(figure.__dict__ | {"ok": figure.ok})
    return results


def bench_size(
    accounts: int, workdir: Path, options: Options, *, with_throughput: bool = False
) -> dict[str, Any]:
    """Every plan figure for one size, on one fresh server."""
    dataset = make_dataset(accounts, accounts // 5 if options.policies else 0)
    out: dict[str, Any] = {
        "accounts": len(dataset.accounts),
        "policies": len(dataset.policies),
        "objects": dataset.size,
    }
    with fresh_database(workdir, options.postgres) as database:
        bootstrap(database, workdir / "admin.json")
        out["seed_accounts_seconds"] = time_calls(
            lambda: out.update(_records=seed_accounts(database, dataset.accounts)), 1
        ).best
        records = out.pop("_records")
        with start_server(database, workdir) as server:
            repo = workdir / f"repo-{accounts}"
            write_repo(repo, dataset, server.url)
            write_secrets(repo, records, server.url)
            with ClmClient(server.url, Credentials.from_file(server.admin_file)) as client:
                out["seed_policies_seconds"] = time_calls(
                    lambda: seed_policies(client, dataset.policies), 1
                ).best

            # certgov plan, unchanged: requests counted once, then timed runs of the real CLI.
            counts, _ = _counted(
                workdir, ["plan", str(repo), *_api_args(server), "--detailed-exitcode"], (0,)
            )
            runs = [_certgov_plan(repo, server, (0,)) for _ in range(options.plan_repeat)]
            times = sorted(r.seconds for r in runs)
            out["plan"] = {
                "requests": counts["requests"],
                "logins": counts["logins"],
                "seconds": times[len(times) // 2],
                "seconds_runs": [round(r.seconds, 3) for r in runs],
                "peak_rss_mb": max(r.peak_rss_mb for r in runs),
                "cpu_seconds": runs[0].cpu_seconds,
            }

            # The naive baseline, once (it is the slow one).
            count_file = workdir / "naive.json"
            naive = run_process(
                python_module(
                    "benchmarks.naive",
                    str(repo),
                    *_api_args(server),
                    "--count-file",
                    str(count_file),
                )
            )
            naive_counts = json.loads(count_file.read_text())
            if any(
                naive_counts["summary"].get(a, 0) for a in ("create", "update", "delete", "rotate")
            ):
                raise BenchmarkError(f"the naive plan is not empty: {naive_counts['summary']}")
            out["naive"] = {
                "requests": naive_counts["requests"],
                "seconds": naive.seconds,
                "peak_rss_mb": naive.peak_rss_mb,
                "parallelism": 8,
            }
            out["speedup_vs_naive"] = naive.seconds / out["plan"]["seconds"]

            out["planner"] = _planner_alone(repo, server, options.planner_repeat)

            # 1 % of the objects changed: updates, and the changed policies dry-run.
            changed = _change_one_percent(repo, dataset)
            counts, _ = _counted(
                workdir,
                ["plan", str(repo), *_api_args(server), "--detailed-exitcode"],
                (EXIT_CHANGES,),
            )
            run = _certgov_plan(repo, server, (EXIT_CHANGES,))
            out["plan_1pct_changed"] = {
                "changed_accounts": changed["accounts"],
                "changed_policies": changed["policies"],
                "requests": counts["requests"],
                "seconds": run.seconds,
                "peak_rss_mb": run.peak_rss_mb,
            }
            if with_throughput:
                out["throughput"] = throughput(server, options, validate=options.policies)
    shutil.rmtree(workdir / f"repo-{accounts}", ignore_errors=True)
    return out


def bench_apply(
    parallelism: int, workdir: Path, options: Options, rtt_ms: float = 0
) -> dict[str, Any]:
    """`certgov apply --auto-approve` of `apply_creates` new objects on a fresh server, over
    loopback or behind a simulated round trip of `rtt_ms`."""
    policies = options.apply_creates // 6 if options.policies else 0
    dataset = make_dataset(options.apply_creates - policies, policies, seed=parallelism)
    with (
        tempfile.TemporaryDirectory(dir=workdir) as tmp,
        fresh_database(Path(tmp), options.postgres) as database,
    ):
        root = Path(tmp)
        bootstrap(database, root / "admin.json")
        with start_server(database, root, rtt_ms) as server:
            server.admin_file = root / "admin.json"
            repo = root / "repo"
            write_repo(repo, dataset, server.url)
            args = [
                "apply",
                str(repo),
                "--auto-approve",
                "--no-color",
                "--parallelism",
                str(parallelism),
            ]
            cpu_before = server.cpu_seconds()
            run = run_process(python_module("certgov", *args, *_api_args(server)))
            server_cpu = server.cpu_seconds() - cpu_before
            _certgov_plan(repo, server, (0,))  # everything was created: the next plan is empty
    return {
        "parallelism": parallelism,
        "rtt_ms": rtt_ms,
        "creates": dataset.size,
        "accounts": len(dataset.accounts),
        "policies": len(dataset.policies),
        "seconds": run.seconds,
        "client_cpu_seconds": round(run.cpu_seconds, 2),
        "server_cpu_seconds": round(server_cpu, 2),
        "peak_rss_mb": run.peak_rss_mb,
    }
