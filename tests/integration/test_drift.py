"""`certgov drift` end to end: a git repo, an apply, a change by hand on the platform by another
account, a change in git, and each exit code with its attribution."""

from __future__ import annotations

import json
from pathlib import Path

import git

from tests.integration.conftest import LiveServer, copy_example


def drift(live: LiveServer, repo: Path, *extra: str) -> tuple[int, dict[str, object]]:
    result = live.cli("drift", str(repo), "--applied-ref", "applied", "--format", "json", *extra)
    assert result.exit_code in (0, 2, 4, 6, 8, 10, 12, 14), result.output
    return result.exit_code, json.loads(result.stdout)


def applied_repo(tmp_path: Path) -> tuple[Path, git.Repo]:
    """The quickstart in a git repo, committed and tagged `applied`."""
    repo = copy_example("quickstart", tmp_path)
    vcs = git.Repo.init(repo)
    with vcs.config_writer() as config:
        config.set_value("user", "name", "t").set_value("user", "email", "t@example.com")
    vcs.index.add(
        [str(p.relative_to(repo)) for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts]
    )
    vcs.index.commit("declarations")
    vcs.create_tag("applied")
    return repo, vcs


def test_drift_exit_codes_and_attribution(live: LiveServer, tmp_path: Path) -> None:
    repo, vcs = applied_repo(tmp_path)
    applied = live.cli("apply", str(repo), "--auto-approve")
    assert applied.exit_code == 0, applied.output

    code, report = drift(live, repo)
    assert (code, report["pending"], report["out_of_band"]) == (0, [], [])

    ops = live.new_credentials("bootstrap-ops", ["write"])
    with live.client(ops) as client:
        dev = client.find_policy("Development Policy")
        assert dev is not None
        body = {k: dev.data[k] for k in ("name", "description", "matching_criteria", "rules")}
        client.replace_policy(
            dev.data["id"], {**body, "description": "changed by hand", "is_enabled": True}
        )
    code, report = drift(live, repo)
    assert code == 4
    (item,) = report["out_of_band"]  # type: ignore[misc]
    assert (item["address"], item["action"]) == ("Policy/Development Policy", "update")
    assert item["diff"] == [
        {
            "path": "description",
            "before": "changed by hand",
            "after": "Short-lived certificates for development, only under dev.example.com",
        }
    ]
    assert (item["last_event"]["type"], item["last_event"]["actor"]) == (
        "policy.updated",
        "bootstrap-ops",
    )

    prod = repo / "policies" / "production-baseline.yaml"
    prod.write_text(prod.read_text().replace("description: Comprehensive", "description: Strict"))
    vcs.index.add(["policies/production-baseline.yaml"])
    vcs.index.commit("stronger keys")
    code, report = drift(live, repo)
    assert code == 6
    assert [(p["address"], p["change"]) for p in report["pending"]] == [  # type: ignore[union-attr]
        ("Policy/Production Security Baseline", "changed")
    ]

    applied = live.cli("apply", str(repo), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    vcs.create_tag("applied", force=True)
    code, report = drift(live, repo)
    assert (code, report["pending"], report["out_of_band"]) == (0, [], [])


def test_drift_reports_authentication_failures_as_hygiene(live: LiveServer, tmp_path: Path) -> None:
    repo, _vcs = applied_repo(tmp_path)
    applied = live.cli("apply", str(repo), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    record = json.loads((repo / ".certgov-secrets" / "ci-policy-validation.json").read_text())
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({**record, "client_secret": "x" * 64}))
    assert live.cli("plan", str(repo), creds=wrong).exit_code == 3
    code, report = drift(live, repo, "--fail-on", "warning")
    assert code == 8
    assert report["hygiene"] == [
        {
            "level": "warning",
            "check": "auth-failures",
            "subject": "ci-policy-validation",
            "message": "1 failed login (INVALID_CREDENTIALS) from 127.0.0.1",
        }
    ]


def test_drift_with_a_read_account_reports_what_it_checked_and_what_it_skipped(
    live_sqlite: LiveServer, tmp_path: Path
) -> None:
    repo, _ = applied_repo(tmp_path)
    assert live_sqlite.cli("apply", str(repo), "--auto-approve").exit_code == 0
    reader = live_sqlite.new_credentials("bootstrap-reader", ["read"])
    with live_sqlite.client() as client:
        dev = client.find_policy("Development Policy")
        assert dev is not None
        body = {k: dev.data[k] for k in ("name", "description", "matching_criteria", "rules")}
        client.replace_policy(
            dev.data["id"], {**body, "description": "by hand", "is_enabled": True}
        )
    result = live_sqlite.cli(
        "drift", str(repo), "--applied-ref", "applied", "--format", "json", creds=reader
    )
    assert result.exit_code == 4, result.output
    report = json.loads(result.stdout)
    assert [(i["address"], i["last_event"]) for i in report["out_of_band"]] == [
        ("Policy/Development Policy", None)
    ]
    audit = "the audit log cannot be read: reading audit events needs scope admin; this account has read"
    accounts = "reading service accounts needs scope admin; this account has read"
    assert report["skipped"] == [
        {"check": "out-of-band ServiceAccount", "reason": accounts},
        {"check": "account-hygiene", "reason": accounts},
        {"check": "attribution", "reason": audit},
        {
            "check": "ready-to-promote",
            "reason": "rollout evidence skipped, so no rule is promoted: reading audit events "
            "needs scope admin; this account has read",
        },
        {"check": "auth-failures", "reason": audit},
    ]
    text = live_sqlite.cli("drift", str(repo), "--applied-ref", "applied", creds=reader)
    assert text.stdout.splitlines()[-6:] == [
        "not checked: 5",
        f"  out-of-band ServiceAccount: {accounts}",
        f"  account-hygiene: {accounts}",
        f"  attribution: {audit}",
        "  ready-to-promote: rollout evidence skipped, so no rule is promoted: reading audit "
        "events needs scope admin; this account has read",
        f"  auth-failures: {audit}",
    ]


def test_drift_outside_git_skips_pending_and_still_checks_the_platform(
    live_sqlite: LiveServer, tmp_path: Path
) -> None:
    repo = copy_example("quickstart", tmp_path)
    assert live_sqlite.cli("apply", str(repo), "--auto-approve").exit_code == 0
    result = live_sqlite.cli("drift", str(repo), "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["applied_ref"], report["pending"], report["out_of_band"]) == (
        "(the working tree)",
        [],
        [],
    )
    assert report["skipped"] == [
        {
            "check": "pending",
            "reason": f"{repo} is not in a git repository: nothing tells declared from applied",
        }
    ]


def test_drift_defaults_to_head_in_a_local_repository_and_names_its_own_options(
    live_sqlite: LiveServer, tmp_path: Path
) -> None:
    repo, _ = applied_repo(tmp_path)
    assert live_sqlite.cli("apply", str(repo), "--auto-approve").exit_code == 0
    result = live_sqlite.cli("drift", str(repo), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["applied_ref"] == "HEAD"
    unknown = live_sqlite.cli("drift", str(repo), "--applied-ref", "nope")
    assert (unknown.exit_code, unknown.stderr) == (
        1,
        f"error: --applied-ref 'nope': no such git ref in {repo}\n",
    )
