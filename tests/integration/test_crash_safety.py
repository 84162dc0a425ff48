"""Apply killed with SIGKILL at each failpoint, then plan + apply again: the tenant converges to
the declarations with no duplicate object, no orphaned secret, and store records that log in."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import LiveServer
from tests.integration.crashrepo import record_login_failures, store_records, write_repo

ACCOUNTS, POLICIES = 6, 3


def certgov(
    live: LiveServer, *args: str, failpoint: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTGOV_")}
    if failpoint:
        env["CERTGOV_FAILPOINT"] = failpoint
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "certgov",
            *args,
            "--url",
            live.url,
            "--credentials",
            str(live.admin),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_converged(
    live: LiveServer, repo: Path, records: Callable[[], dict[str, dict[str, Any]]] | None = None
) -> None:
    """Apply and plan again; then every account once, and a record of each that logs in.

    `records` reads the store's records by account name (default: the file store's).
    """
    again = live.cli("apply", str(repo), "--auto-approve")
    assert again.exit_code == 0, again.output
    final = live.cli("plan", str(repo), "--detailed-exitcode")
    assert final.exit_code == 0, again.output + "\n=====\n" + final.output
    with live.client() as client:
        names = [a["name"] for a in client.list_service_accounts()]
        policies = [p["name"] for p in client.list_policies()]
    assert sorted(names) == [f"acct-{i:03}" for i in range(ACCOUNTS)] + ["bootstrap-admin"]
    assert sorted(policies) == [f"pol{i:03}" for i in range(POLICIES)]
    stored = records() if records else store_records(repo)
    assert sorted(stored) == [f"acct-{i:03}" for i in range(ACCOUNTS)]
    assert record_login_failures(live.url, stored) == []


@pytest.mark.parametrize(
    "failpoint",
    ["before_first_write", "after_create_before_store", "after_store", "after_change:4"],
)
def test_apply_killed_at_a_failpoint_converges(
    live_sqlite: LiveServer, tmp_path: Path, failpoint: str
) -> None:
    repo = write_repo(tmp_path / "repo", ACCOUNTS, POLICIES)
    killed = certgov(live_sqlite, "apply", str(repo), "--auto-approve", failpoint=failpoint)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert_converged(live_sqlite, repo)


def test_two_applies_at_once_end_declared_without_duplicates(
    live_sqlite: LiveServer, tmp_path: Path
) -> None:
    repo = write_repo(tmp_path / "repo", ACCOUNTS, POLICIES)
    plan_file = tmp_path / "plan.json"
    planned = live_sqlite.cli("plan", str(repo), "--out", str(plan_file))
    assert planned.exit_code == 0, planned.output
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTGOV_")}
    args = [
        sys.executable,
        "-m",
        "certgov",
        "apply",
        str(plan_file),
        "--url",
        live_sqlite.url,
        "--credentials",
        str(live_sqlite.admin),
    ]
    runs = [
        subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    codes = [run.returncode for run in runs]
    assert all(code in (0, 1) for code in codes), outputs
    combined = "".join(out + err for out, err in outputs)
    assert (
        "conflict met" in combined
        or "changed since the plan" in combined
        or "created by someone else" in combined
    )
    assert_converged(live_sqlite, repo)
