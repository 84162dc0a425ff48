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

from benchmarks.breakdown import breakdown
from benchmarks.generate import (
    Dataset,
    account_path,
    audit_head,
    audit_types,
    backtest_focus,
    enabled_policy_bodies,
    make_dataset,
    policy_path,
    request_bodies,
    seed_accounts,
    seed_policies,
    seed_policies_in_store,
    seed_requests,
    tightened,
    write_policy,
    write_repo,
    write_secrets,
)
from benchmarks.load import measure as measure_throughput
from benchmarks.measure import (
    BenchmarkError,
    ProcessRun,
    python_module,
    run_process,
    time_calls,
)
from benchmarks.server import AUDIT_KEY, RunningServer, bootstrap, fresh_database, start_server
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
    # The unchanged plan and the naive baseline again behind this round trip (0: not).
    plan_rtt_ms: float = 0
    # Recent certificate requests in the audit log for the back-test (0: no back-test figures).
    backtest_requests: int = 0
    # False only to try the benchmark against a server without the policy endpoints.
    policies: bool = True


def _api_args(server: RunningServer) -> list[str]:
    return ["--url", server.url, "--credentials", str(server.admin_file)]


def _counted(workdir: Path, args: list[str], ok: tuple[int, ...]) -> tuple[dict[str, Any], Any]:
    """Run `python -m benchmarks.probe` (the CLI, counting requests); answer the counts."""
    count_file = workdir / "count.json"
    run = run_process(python_module("benchmarks.probe", str(count_file), *args), ok=ok)
    return json.loads(count_file.read_text()), run


def _certgov_plan(
    repo: Path, server: RunningServer, ok: tuple[int, ...], *extra: str
) -> ProcessRun:
    args = ["plan", str(repo), *_api_args(server), "--detailed-exitcode", "--no-color", *extra]
    return run_process(python_module("certgov", *args), ok=ok)


def _median(runs: list[ProcessRun]) -> float:
    times = sorted(r.seconds for r in runs)
    return times[len(times) // 2]


def _naive(repo: Path, server: RunningServer, workdir: Path) -> tuple[ProcessRun, int]:
    """The naive baseline, once (it is the slow one): its run and its request count."""
    count_file = workdir / "naive.json"
    naive = run_process(
        python_module(
            "benchmarks.naive", str(repo), *_api_args(server), "--count-file", str(count_file)
        )
    )
    counts = json.loads(count_file.read_text())
    if any(counts["summary"].get(a, 0) for a in ("create", "update", "delete", "rotate")):
        raise BenchmarkError(f"the naive plan is not empty: {counts['summary']}")
    return naive, int(counts["requests"])


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


def _change_one_percent(repo: Path, dataset: Dataset) -> tuple[dict[str, int], dict[Path, str]]:
    """Change the description of every 100th account and policy declaration; answer how many,
    and the files' texts before."""
    accounts = dataset.accounts[::100]
    policies = dataset.policies[::100]
    originals: dict[Path, str] = {}
    changed = [(account_path(repo, b["name"]), b) for b in accounts]
    changed += [(policy_path(repo, b["name"]), b) for b in policies]
    for path, body in changed:
        originals[path] = text = path.read_text()
        path.write_text(text.replace(body["description"], body["description"] + " (v2)"))
    return {"accounts": len(accounts), "policies": len(policies)}, originals


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


CALLS = ("login", "verify", "validate")


def throughput(
    server: RunningServer, options: Options, calls: tuple[str, ...] = CALLS
) -> list[dict[str, Any]]:
    """Each of `calls` (login, verify, validate) for `load_seconds`, from a second process."""
    creds, token = _login(server)
    base = f"{server.url}/api/v1"
    requests = {
        "login": (f"{base}/service-account/auth", "POST", None, creds),
        "verify": (f"{base}/service-account/auth/verify", "GET", token, None),
        "validate": (
            f"{base}/service/policies/validate",
            "POST",
            token,
            {"request": VALIDATE_REQUEST},
        ),
    }
    results = []
    for call in calls:
        url, method, bearer, body = requests[call]
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


def plan_behind_rtt(repo: Path, database: str, workdir: Path, options: Options) -> dict[str, Any]:
    """The unchanged plan and the naive baseline again, through a second server process on the
    same database that answers each request after a simulated round trip (benchmarks/delayed.py):
    a CLM in another network, where every request costs its latency."""
    with start_server(database, workdir, options.plan_rtt_ms) as server:
        runs = [_certgov_plan(repo, server, (0,)) for _ in range(options.plan_repeat)]
        naive, naive_requests = _naive(repo, server, workdir)
    plan_seconds = _median(runs)
    return {
        "rtt_ms": options.plan_rtt_ms,
        "plan_seconds": plan_seconds,
        "plan_seconds_runs": [round(r.seconds, 3) for r in runs],
        "naive_seconds": naive.seconds,
        "naive_requests": naive_requests,
        "speedup_vs_naive": naive.seconds / plan_seconds,
    }


def bench_backtest(
    repo: Path, dataset: Dataset, server: RunningServer, workdir: Path, options: Options
) -> dict[str, Any]:
    """A plan that changes one policy, with its back-test over the recent requests and with
    `--backtest-days 0`, alternately; and the audit events each added.

    `backtest_requests` recent requests go into the audit log first, each meeting the rules of
    its zone's policy, half of them in the changed policy's zone; the change gives that policy a
    hard maximum validity of 30 days, so that the back-test finds requests it would newly block
    and its sample fills.
    """
    database = server.database_url
    focus = backtest_focus(dataset.policies)
    bodies = request_bodies(dataset.policies, options.backtest_requests, focus)
    out: dict[str, Any] = {"requests_seeded": len(bodies), "changed_policy": focus["name"]}
    out["seed_seconds"] = time_calls(
        lambda: seed_requests(database, workdir / AUDIT_KEY, bodies), 1
    ).best
    path = policy_path(repo, focus["name"])
    original = path.read_text()
    write_policy(repo, tightened(focus))
    document = workdir / "backtest-plan.json"
    with_backtest: list[ProcessRun] = []
    without: list[ProcessRun] = []
    try:
        for i in range(options.plan_repeat):
            before = audit_head(database)
            without.append(_certgov_plan(repo, server, (EXIT_CHANGES,), "--backtest-days", "0"))
            middle = audit_head(database)
            with_backtest.append(
                _certgov_plan(repo, server, (EXIT_CHANGES,), "--out", str(document))
            )
            if i == 0:
                out["events_added_without"] = middle - before
                out["events_added_with"] = audit_head(database) - middle
                out["event_types_with"] = audit_types(database, middle)
    finally:
        path.write_text(original)
    [change] = [c for c in json.loads(document.read_text())["changes"] if c.get("backtest")]
    out["backtest"] = change["backtest"]
    out["plan_seconds"] = _median(with_backtest)
    out["plan_seconds_runs"] = [round(r.seconds, 3) for r in with_backtest]
    out["plan_seconds_without"] = _median(without)
    out["plan_seconds_without_runs"] = [round(r.seconds, 3) for r in without]
    return out


def bench_validate(policies: int, workdir: Path, options: Options) -> dict[str, Any]:
    """The dry run's throughput with `policies` enabled policies, on a fresh server."""
    with (
        tempfile.TemporaryDirectory(dir=workdir) as tmp,
        fresh_database(Path(tmp), options.postgres) as database,
    ):
        root = Path(tmp)
        bootstrap(database, root / "admin.json")
        seed_policies_in_store(database, root / AUDIT_KEY, enabled_policy_bodies(policies))
        with start_server(database, root) as server:
            [figure] = throughput(server, options, ("validate",))
    return {"policies": policies, **figure}


def bench_size(
    accounts: int,
    workdir: Path,
    options: Options,
    *,
    headline: bool = False,
    with_throughput: bool = True,
) -> dict[str, Any]:
    """Every plan figure for one size, on one fresh server; at the `headline` size (the one
    the summary is taken at) also the plan behind a round trip, where its time goes, the
    back-test and, `with_throughput`, the server's throughput."""
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

            naive, naive_requests = _naive(repo, server, workdir)
            out["naive"] = {
                "requests": naive_requests,
                "seconds": naive.seconds,
                "peak_rss_mb": naive.peak_rss_mb,
                "parallelism": 8,
            }
            out["speedup_vs_naive"] = naive.seconds / out["plan"]["seconds"]

            out["planner"] = _planner_alone(repo, server, options.planner_repeat)
            if headline:
                if options.plan_rtt_ms:
                    out["plan_rtt"] = plan_behind_rtt(repo, database, workdir, options)
                out["breakdown"] = breakdown(
                    repo, server.url, server.admin_file, server.pid, options.plan_repeat
                )

            # 1 % of the objects changed: updates, and the changed policies dry-run.
            changed, originals = _change_one_percent(repo, dataset)
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
            for path, text in originals.items():
                path.write_text(text)
            if headline and options.backtest_requests and dataset.policies:
                out["backtest"] = bench_backtest(repo, dataset, server, workdir, options)
            if headline and with_throughput:
                calls = CALLS if options.policies else CALLS[:2]
                out["throughput"] = throughput(server, options, calls)
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
