"""Plans of service accounts without admin credentials: `certgov snapshot` and `plan --snapshot`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from certgov.client import canonical_api_root
from certgov.plan.schema import plan_schema_problems
from tests.integration.conftest import LiveServer
from tests.integration.crashrepo import write_repo


def snapshot(live: LiveServer, repo: Path, out: Path) -> None:
    made = live.cli("snapshot", str(repo), "--out", str(out))
    assert made.exit_code == 0, made.output


def test_a_read_account_plans_service_accounts_against_the_snapshot(
    live_sqlite: LiveServer, tmp_path: Path
) -> None:
    repo = write_repo(tmp_path / "repo", 1, 0)
    # The pull-request job's read account; certgov.yaml ignores bootstrap-* accounts.
    reader = live_sqlite.new_credentials("bootstrap-pr-reader", ["read"])
    assert live_sqlite.cli("apply", str(repo), "--auto-approve").exit_code == 0
    snap = tmp_path / "snapshot.json"
    made = live_sqlite.cli("snapshot", str(repo), "--out", str(snap))
    assert made.exit_code == 0, made.output
    document = json.loads(snap.read_text())
    assert made.stdout == (
        f"snapshot of {canonical_api_root(live_sqlite.url)} at {document['taken_at']}: "
        f"3 ServiceAccount, 0 Policy; written to {snap}\n"
    )
    assert "client_secret" not in snap.read_text()

    accounts = repo / "accounts.yaml"
    accounts.write_text(accounts.read_text().replace("scopes: [read]", "scopes: [read, write]"))
    plan_file = tmp_path / "plan.json"
    planned = live_sqlite.cli(
        "plan", str(repo), "--snapshot", str(snap), "--out", str(plan_file), creds=reader
    )
    assert planned.exit_code == 0, planned.output
    lines = planned.stdout.splitlines()
    assert lines[1].startswith(
        "Compared: ServiceAccount snapshot (ServiceAccount compared with the snapshot of "
    )
    assert lines[1].endswith(", 0 h old), Policy live")
    assert "  # ServiceAccount/acct-000 will be updated in place" in lines
    plan = json.loads(plan_file.read_text())
    assert plan_schema_problems(plan) == []
    assert plan["summary"]["partial"] is False
    assert plan["coverage"]["ServiceAccount"]["compared"] == "snapshot"

    # Apply on merge re-plans live with the admin account and checks the reviewed changes.
    applied = live_sqlite.cli("apply", str(repo), "--auto-approve", "--expect-plan", str(plan_file))
    assert applied.exit_code == 0, applied.output
    assert applied.stdout.splitlines()[-1] == "Apply complete: 0 created, 1 updated, 0 failed."


def test_a_snapshot_older_than_the_max_age_is_refused(
    live_sqlite: LiveServer, tmp_path: Path
) -> None:
    repo = write_repo(tmp_path / "repo", 0, 0)
    snap = tmp_path / "snapshot.json"
    snapshot(live_sqlite, repo, snap)
    taken = json.loads(snap.read_text())["taken_at"]
    live_sqlite.clock.advance(hours=25)
    reader = live_sqlite.new_credentials("pr-reader", ["read"])
    refused = live_sqlite.cli("plan", str(repo), "--snapshot", str(snap), creds=reader)
    assert (refused.exit_code, refused.stderr) == (
        1,
        f"error: the snapshot was taken at {taken}, 25 h ago, more than --max-snapshot-age "
        "24 h; publish a new one (certgov snapshot, from a job with an admin account)\n"
        f"  at {snap}\n",
    )
    allowed = live_sqlite.cli(
        "plan", str(repo), "--snapshot", str(snap), "--max-snapshot-age", "2d", creds=reader
    )
    assert allowed.exit_code == 0, allowed.output


def test_a_snapshot_of_another_target_is_refused(
    live_sqlite: LiveServer, other_server: LiveServer, tmp_path: Path
) -> None:
    repo = write_repo(tmp_path / "repo", 0, 0)
    snap = tmp_path / "snapshot.json"
    snapshot(other_server, repo, snap)
    reader = live_sqlite.new_credentials("pr-reader", ["read"])
    refused = live_sqlite.cli("plan", str(repo), "--snapshot", str(snap), creds=reader)
    assert (refused.exit_code, refused.stderr) == (
        1,
        f"error: the snapshot is of {canonical_api_root(other_server.url)}, not of "
        f"{canonical_api_root(live_sqlite.url)}; use a snapshot of the target this plan is for\n"
        f"  at {snap}\n",
    )


def test_an_edited_snapshot_is_refused(live_sqlite: LiveServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", 1, 0)
    assert live_sqlite.cli("apply", str(repo), "--auto-approve").exit_code == 0
    snap = tmp_path / "snapshot.json"
    snapshot(live_sqlite, repo, snap)
    snap.write_text(snap.read_text().replace('"read"', '"admin"'))
    reader = live_sqlite.new_credentials("pr-reader", ["read"])
    refused = live_sqlite.cli("plan", str(repo), "--snapshot", str(snap), creds=reader)
    assert (refused.exit_code, refused.stderr) == (
        1,
        "error: the snapshot's fingerprint does not match its content: it was edited after "
        f"`certgov snapshot` wrote it\n  at {snap}\n",
    )


def test_snapshot_needs_an_admin_account(live_sqlite: LiveServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", 0, 0)
    reader = live_sqlite.new_credentials("pr-reader", ["read"])
    refused = live_sqlite.cli(
        "snapshot", str(repo), "--out", str(tmp_path / "s.json"), creds=reader
    )
    assert (refused.exit_code, refused.stderr) == (
        3,
        "error: reading service accounts needs scope admin; this account has read\n",
    )


def test_a_plan_with_a_snapshot_needs_no_access_to_the_secret_stores(
    live_sqlite: LiveServer, tmp_path: Path
) -> None:
    repo = write_repo(tmp_path / "repo", 2, 0)
    reader = live_sqlite.new_credentials("bootstrap-pr-reader", ["read"])
    assert live_sqlite.cli("apply", str(repo), "--auto-approve").exit_code == 0
    snap = tmp_path / "snapshot.json"
    snapshot(live_sqlite, repo, snap)
    records = json.loads(snap.read_text())["store_records"]
    assert sorted(records) == ["local:accounts/acct-000", "local:accounts/acct-001"]
    assert set(records["local:accounts/acct-000"]) == {"client_id", "secret_created_at"}
    # The pull-request job: a fresh checkout, whose file store holds nothing.
    shutil.rmtree(repo / ".certgov-secrets")
    planned = live_sqlite.cli(
        "plan", str(repo), "--snapshot", str(snap), "--detailed-exitcode", creds=reader
    )
    assert planned.exit_code == 0, planned.output
