"""The benchmark at a smoke size, so that it keeps working; figures are not judged here."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from benchmarks.report import plot
from benchmarks.run import main

ACCOUNTS = 40
POLICIES = ACCOUNTS // 5
SUMMARY_KEYS = {
    "size_accounts",
    "size_objects",
    "plan_requests",
    "naive_requests",
    "plan_seconds",
    "naive_seconds",
    "plan_speedup_vs_naive",
    "planner_seconds_12k",
    "peak_rss_mb",
    "plan_1pct_changed_seconds",
    "plan_1pct_changed_requests",
    "apply_seconds_p1",
    "apply_seconds_p8",
    "apply_speedup_parallel",
    "apply_speedup_cpu_bound",
    "apply_seconds_p1_rtt_20ms",
    "apply_seconds_p8_rtt_20ms",
    "apply_speedup_parallel_rtt_20ms",
    "login_rps",
    "verify_rps",
    "validate_rps",
    "plan_seconds_rtt20",
    "naive_seconds_rtt20",
    "plan_speedup_vs_naive_rtt20",
    "validate_rps_policies_10",
    "validate_rps_policies_2000",
    "validate_rps_ratio_2000_vs_10",
    "backtest_requests",
    "backtest_plan_seconds",
    "backtest_plan_seconds_off",
    "backtest_plan_ratio",
    "backtest_sampled",
    "backtest_audit_events_added",
}
BREAKDOWN_KEYS = {
    "python_start",
    "cli_start",
    "files",
    "read_files",
    "yaml",
    "schemas",
    "load",
    "load_one_process",
    "live_read",
    "live_read_server_cpu",
    "live_pages",
    "live_bytes",
    "live_json",
    "live_build",
    "load_and_live_read",
    "store_facts",
    "store_walk",
    "planner",
    "document_render",
}


@pytest.mark.slow
def test_quick_benchmark_writes_results_and_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--quick", "--sizes", str(ACCOUNTS), "--results-dir", str(tmp_path)]) == 0

    [results_file] = tmp_path.glob("*-quick.json")
    [plot_file] = tmp_path.glob("*-quick.png")
    results = json.loads(results_file.read_text())
    summary = results["summary"]
    assert set(summary) == SUMMARY_KEYS
    # An unchanged plan: login, one page of each kind, revoke; the baseline adds a GET per object
    # on the server, the admin account it logs in with included.
    objects = ACCOUNTS + 1 + POLICIES
    assert (summary["plan_requests"], summary["naive_requests"]) == (4, 4 + objects)
    assert [(s["accounts"], s["policies"]) for s in results["sizes"]] == [(ACCOUNTS, POLICIES)]
    assert [(a["rtt_ms"], a["parallelism"]) for a in results["apply"]] == [
        (0, 1),
        (0, 8),
        (20, 1),
        (20, 8),
    ]
    # Behind the simulated round trip, each of the 40-odd requests of the sequential run waits
    # 20 ms: a floor that holds however loaded the machine is (no comparison of two timings).
    assert summary["apply_seconds_p1_rtt_20ms"] >= 40 * 0.020
    # The plan logs in, reads both lists (side by side) and revokes: three round trips at least.
    assert summary["plan_seconds_rtt20"] >= 3 * 0.020
    assert [(v["policies"], v["call"]) for v in results["validate"]] == [
        (10, "validate"),
        (2000, "validate"),
    ]
    # The back-test's sample is full (the tightened policy newly blocks many of the 200 recent
    # requests), and the dry run added two audit events per sampled request, no more.
    assert (summary["backtest_requests"], summary["backtest_sampled"]) == (200, 20)
    assert summary["backtest_audit_events_added"] == 2 * 20
    [size] = results["sizes"]
    assert size["backtest"]["backtest"]["newly_block"] > 0
    assert set(size["breakdown"]) == BREAKDOWN_KEYS
    assert size["breakdown"]["files"] == 1 + ACCOUNTS + POLICIES
    assert results["targets"] == {}
    assert plot_file.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert capsys.readouterr().out.splitlines()[-2:] == [
        f"results: {results_file}",
        f"plot:    {plot_file}",
    ]


def test_without_matplotlib_the_plot_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    assert plot(tmp_path / "plot.png", [], "title") is False
    assert list(tmp_path.iterdir()) == []
