"""Back-testing against recorded certificate requests, and a soft-to-hard rollout decided from
the audit log with the server's clock moved forward."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from certgov.errors import PolicyViolationError
from tests.integration.conftest import LiveServer

CONFIG = "apiVersion: certgov/v1\nkind: Config\n"
POLICY = """apiVersion: certgov/v1
kind: Policy
name: Web
matching_criteria: {{action: certificate.generate, domains: ["*.web.example.com"]}}
rules:
  - action: enforce_minimum_key_size
    fail: hard
    values: {{minimum_bits: {bits}}}
{rollout}"""
ROLLOUT = "    rollout: {start: soft, promote_after: 14d, max_warnings: 0, min_requests: 5}\n"


def write(repo: Path, bits: int, rollout: bool = False) -> Path:
    repo.mkdir(exist_ok=True)
    (repo / "certgov.yaml").write_text(CONFIG)
    (repo / "web.yaml").write_text(POLICY.format(bits=bits, rollout=ROLLOUT if rollout else ""))
    return repo


def request(name: str, size: int) -> dict[str, object]:
    return {
        "action": "certificate.generate",
        "common_name": name,
        "sans": {"dns": [name]},
        "key": {"algorithm": "rsa", "size": size},
        "digest": "sha256",
        "validity_days": 90,
    }


def test_backtest_counts_recent_requests_the_change_would_newly_block(
    live: LiveServer, tmp_path: Path
) -> None:
    repo = write(tmp_path / "repo", 2048)
    assert live.cli("apply", str(repo), "--auto-approve").exit_code == 0
    with live.client() as client:
        for i in range(7):
            client.request_certificate(request(f"ok{i}.web.example.com", 4096))
        for i in range(3):
            client.request_certificate(request(f"small{i}.web.example.com", 2048))
    write(repo, 3072)
    plan_file = tmp_path / "plan.json"
    result = live.cli("plan", str(repo), "--out", str(plan_file))
    assert result.exit_code == 0, result.output
    (change,) = json.loads(plan_file.read_text())["changes"]
    assert change["backtest"] == {
        "days": 14,
        "requests": 10,
        "newly_warn": 0,
        "newly_block": 3,
        "examples": [
            "small2.web.example.com",
            "small1.web.example.com",
            "small0.web.example.com",
        ],
        "sampled": 5,
        "disagreements": [],
    }
    assert (
        "      back-test over 10 matching requests of the last 14 days: 0 would newly warn, "
        "3 would newly block (e.g. small2.web.example.com, small1.web.example.com, "
        "small0.web.example.com); 5 confirmed by the server's dry run"
    ) in result.stdout.splitlines()


def status(live: LiveServer, repo: Path) -> dict[str, object]:
    result = live.cli("rollout", "status", str(repo), "--format", "json")
    assert result.exit_code == 0, result.output
    (decision,) = json.loads(result.stdout)["rollout"]
    return decision  # type: ignore[no-any-return]


def test_a_rollout_goes_hold_blocked_promote_and_then_blocks(
    live_sqlite: LiveServer, tmp_path: Path
) -> None:
    live = live_sqlite
    repo = write(tmp_path / "repo", 3072, rollout=True)
    assert live.cli("apply", str(repo), "--auto-approve").exit_code == 0
    with live.client() as client:
        for i in range(6):
            client.request_certificate(request(f"ok{i}.web.example.com", 4096))
    assert status(live, repo)["state"] == "hold"
    assert status(live, repo)["detail"] == "0 of 14 days, 6 of 5 requests, 0 warnings"

    with live.client() as client:
        warned = client.request_certificate(request("legacy.web.example.com", 2048))
    assert warned["result"] == "warn"
    live.clock.advance(days=15)
    blocked = status(live, repo)
    assert (blocked["state"], blocked["offenders"]) == (
        "blocked",
        ["bootstrap-admin: legacy.web.example.com"],
    )
    table = live.cli("rollout", "status", str(repo))
    assert table.stdout.splitlines()[0].split() == [
        "POLICY",
        "RULE",
        "STATE",
        "DAYS",
        "REQUESTS",
        "WARNINGS",
        "DETAIL",
    ]

    # The owner accepts the one known offender.
    write(repo, 3072, rollout=True)
    (repo / "web.yaml").write_text(
        (repo / "web.yaml").read_text().replace("max_warnings: 0", "max_warnings: 1")
    )
    live.clock.advance(days=1)
    promote = status(live, repo)
    assert promote["state"] == "promote"
    planned = live.cli("plan", str(repo), "--detailed-exitcode")
    assert planned.exit_code == 2
    assert (
        "  # Policy/Web will have a rule promoted from soft to hard" in planned.stdout.splitlines()
    )
    # --auto-promote performs the earned promotion and nothing else that waits for review.
    (repo / "other.yaml").write_text(
        POLICY.format(bits=2048, rollout="").replace("name: Web", "name: Other")
    )
    promoted = live.cli("apply", str(repo), "--auto-promote")
    assert promoted.exit_code == 0, promoted.output
    assert promoted.stdout.splitlines()[-1] == (
        "Apply complete: 0 created, 0 updated, 1 promoted, 0 failed."
    )
    waiting = live.cli("plan", str(repo)).stdout.splitlines()
    assert "Plan: 1 to create, 0 to update, 0 to delete." in waiting
    (repo / "other.yaml").unlink()
    with live.client() as client:
        (policy,) = client.list_policies()
        assert [r["fail"] for r in policy["rules"]] == ["hard"]
        with pytest.raises(PolicyViolationError):
            client.request_certificate(request("legacy2.web.example.com", 2048))
    assert status(live, repo)["state"] == "promoted"
