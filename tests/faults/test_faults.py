"""Apply through network faults, store failures and a killed server: each run completes or
fails with a clear message, and a rerun without faults converges to the declarations with no
duplicate and no lost secret (every store record logs in)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from certgov.cli import cli
from tests.expected import NO_CHANGES, plan_head
from tests.faults.proxy import Fault, FaultProxy, Rule, writes
from tests.integration.conftest import LiveServer
from tests.integration.crashrepo import login_failures, store_records, write_repo

ACCOUNTS, POLICIES = 40, 10
ACCOUNT_NAMES = [f"acct-{i:03}" for i in range(ACCOUNTS)]
POLICY_NAMES = [f"pol{i:03}" for i in range(POLICIES)]
FAILED_TAIL = "error: {n} change(s) did not apply; run `certgov plan` to see what remains\n"

# Each fault hits every fifth write (creates, enables, rotations), eight times in all.
NETWORK_FAULTS = {
    "delay": Rule(Fault.DELAY, writes, every=3, limit=15, delay=0.2),
    "reset-before-server": Rule(Fault.RESET, writes, every=5, limit=8),
    "drop-after-commit": Rule(Fault.DROP, writes, every=5, limit=8),
    "http-500": Rule(Fault.STATUS_500, writes, every=5, limit=8),
    "http-502": Rule(Fault.STATUS_502, writes, every=5, limit=8),
    "http-503": Rule(Fault.STATUS_503, writes, every=5, limit=8),
    "http-429": Rule(Fault.STATUS_429, writes, every=5, limit=8),
}


def certgov(url: str, creds: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "--url", url, "--credentials", str(creds)])


def assert_clear_outcome(result: Result) -> None:
    """Exit 0 with the summary, or exit 1 with the failure table's one-line error; no trace."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    lines = result.output.splitlines(keepends=True)
    if result.exit_code == 0:
        assert lines[-1].startswith("Apply complete: ")
        assert lines[-1].endswith(", 0 failed.\n")
        return
    assert result.exit_code == 1, result.output
    failed = [line for line in lines if " FAILED: " in line]
    assert failed, result.output
    assert lines[-1] == FAILED_TAIL.format(n=len(failed))


def assert_converged(
    url: str, creds: Path, repo: Path, accounts: list[str], policies: list[str], *apply_args: str
) -> None:
    again = certgov(url, creds, "apply", str(repo), "--auto-approve", *apply_args)
    assert again.exit_code == 0, again.output
    final = certgov(url, creds, "plan", str(repo), "--detailed-exitcode")
    assert (final.exit_code, final.stdout.startswith(plan_head(url) + NO_CHANGES)) == (
        0,
        True,
    ), final.output
    with httpx.Client(base_url=url) as http:
        token = http.post(
            "/api/v1/service-account/auth", json=json.loads(creds.read_text())
        ).json()["session"]["token"]
        auth = {"Authorization": f"Bearer {token}"}
        names = [
            a["name"]
            for a in http.get(
                "/api/v1/service/service-accounts", params={"per_page": 100}, headers=auth
            ).json()["data"]
        ]
        pols = [
            p["name"]
            for p in http.get(
                "/api/v1/service/policies", params={"per_page": 100}, headers=auth
            ).json()["data"]
        ]
    assert names == sorted(["bootstrap-admin", *accounts])
    assert pols == sorted(policies)


def assert_secrets_log_in(url: str, repo: Path, accounts: list[str]) -> None:
    assert sorted(store_records(repo)) == accounts
    assert login_failures(url, repo) == []


@pytest.mark.parametrize("name", list(NETWORK_FAULTS))
def test_apply_through_a_network_fault_converges(
    live: LiveServer, tmp_path: Path, name: str
) -> None:
    repo = write_repo(tmp_path / "repo", ACCOUNTS, POLICIES)
    rule = NETWORK_FAULTS[name]
    rule = Rule(rule.fault, rule.match, rule.every, rule.limit, rule.delay)
    with FaultProxy(live.url, [rule]) as proxy:
        result = certgov(proxy.url, live.admin, "apply", str(repo), "--auto-approve")
    assert rule.fired == rule.limit
    assert_clear_outcome(result)
    assert_converged(live.url, live.admin, repo, ACCOUNT_NAMES, POLICY_NAMES)
    assert_secrets_log_in(live.url, repo, ACCOUNT_NAMES)


def test_rotations_whose_answers_are_lost_converge(live: LiveServer, tmp_path: Path) -> None:
    """regenerate-secret is never retried: a lost answer means a lost secret, which the next
    plan sees (the store's record no longer matches) and rotates again."""
    repo = write_repo(tmp_path / "repo", 12, 0)
    accounts = ACCOUNT_NAMES[:12]
    assert certgov(live.url, live.admin, "apply", str(repo), "--auto-approve").exit_code == 0
    for record in (repo / ".certgov-secrets" / "accounts").glob("*.json"):
        record.unlink()
    rule = Rule(Fault.DROP, lambda m, p: p.endswith("/regenerate-secret"), every=2, limit=6)
    with FaultProxy(live.url, [rule]) as proxy:
        # Rotating every account is a mass change (rotations count toward the guard).
        args = ("apply", str(repo), "--auto-approve", "--allow-mass-change")
        result = certgov(proxy.url, live.admin, *args)
    assert rule.fired == 6
    assert_clear_outcome(result)
    assert result.exit_code == 1
    assert_converged(live.url, live.admin, repo, accounts, [], "--allow-mass-change")
    assert_secrets_log_in(live.url, repo, accounts)


def test_proxy_drop_lets_the_server_commit(live: LiveServer) -> None:
    """The DROP fault really is 'after the server committed': the create happened."""
    rule = Rule(Fault.DROP, writes)
    creds = json.loads(live.admin.read_text())
    with FaultProxy(live.url, [rule]) as proxy, httpx.Client(base_url=proxy.url) as http:
        token = http.post("/api/v1/service-account/auth", json=creds).json()["session"]["token"]
        with pytest.raises(httpx.TransportError):
            http.post(
                "/api/v1/service/service-accounts",
                json={"name": "made-anyway", "scopes": ["read"]},
                headers={"Authorization": f"Bearer {token}"},
            )
    with live.client() as client:
        assert client.find_service_account("made-anyway") is not None


def test_proxy_status_429_carries_retry_after(live: LiveServer) -> None:
    with (
        FaultProxy(live.url, [Rule(Fault.STATUS_429)]) as proxy,
        httpx.Client(base_url=proxy.url) as http,
    ):
        answer = http.get("/api/v1/service/policies")
    assert (answer.status_code, answer.headers["retry-after"], answer.json()) == (
        429,
        "1",
        {
            "success": False,
            "error": {"code": "TOO_MANY_REQUESTS", "message": "injected by the fault proxy"},
        },
    )
