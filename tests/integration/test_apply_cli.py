"""`certgov apply` without a plan file: the prompt, JSON results, and a partial failure."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.expected import plan_head
from tests.integration.conftest import LiveServer
from tests.integration.crashrepo import write_repo


def test_apply_asks_and_only_yes_applies(live_sqlite: LiveServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", 1, 0)
    refused = live_sqlite.cli("apply", str(repo), input="y\n")
    assert refused.exit_code == 1
    assert (
        refused.stderr == "error: apply cancelled: the answer was not 'yes'; nothing was changed\n"
    )
    with live_sqlite.client() as client:
        assert [a["name"] for a in client.list_service_accounts()] == ["bootstrap-admin"]
    accepted = live_sqlite.cli("apply", str(repo), input="yes\n")
    assert accepted.exit_code == 0, accepted.output
    assert accepted.stdout.splitlines()[-4:] == [
        "Only 'yes' will be accepted to approve.",
        "Apply these changes?: yes",
        "ServiceAccount/acct-000: created; secret stored in local at accounts/acct-000",
        "Apply complete: 1 created, 0 updated, 0 failed.",
    ]


def test_apply_json_prints_the_result_document(live_sqlite: LiveServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", 1, 1)
    plan_file = tmp_path / "plan.json"
    assert live_sqlite.cli("plan", str(repo), "--out", str(plan_file)).exit_code == 0
    result = live_sqlite.cli("apply", str(plan_file), "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    fingerprint = json.loads(plan_file.read_text())["fingerprint"]
    assert document == {
        "format_version": "1",
        "plan_fingerprint": fingerprint,
        "summary": {
            "renamed": 0,
            "created": 2,
            "updated": 0,
            "enabled": 0,
            "rotated": 0,
            "promoted": 0,
            "disabled": 0,
            "deleted": 0,
            "failed": 0,
            "not attempted": 0,
        },
        "results": [
            {
                "address": "Policy/pol000",
                "action": "create",
                "status": "applied",
                "message": "created disabled, 1 dry-run test passed, enabled",
            },
            {
                "address": "ServiceAccount/acct-000",
                "action": "create",
                "status": "applied",
                "message": "created; secret stored in local at accounts/acct-000",
            },
        ],
    }
    assert sorted(result.stderr.splitlines()) == [
        "Policy/pol000: created disabled, 1 dry-run test passed, enabled",
        "ServiceAccount/acct-000: created; secret stored in local at accounts/acct-000",
    ]


FAILING_STORE = """\
import sys
operation, path = sys.argv[1], sys.argv[2]
if operation == "write" and path.endswith("acct-001"):
    sys.stderr.write("vault is sealed\\n")
    sys.exit(1)
if operation == "write":
    sys.stdin.read()
"""


def test_a_partial_failure_lists_what_failed_and_the_next_plan_shows_it(
    live_sqlite: LiveServer, tmp_path: Path
) -> None:
    repo = write_repo(tmp_path / "repo", 2, 0)
    script = tmp_path / "store.py"
    script.write_text(FAILING_STORE)
    config = (
        (repo / "certgov.yaml")
        .read_text()
        .replace(
            "local: {type: file, path: .certgov-secrets}",
            f"local: {{type: command, command: [{sys.executable}, {script}]}}",
        )
    )
    (repo / "certgov.yaml").write_text(config)
    result = live_sqlite.cli("apply", str(repo), "--auto-approve")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[-4:] == [
        "ADDRESS                  ACTION  STATUS",
        "ServiceAccount/acct-001  create  failed",
        "Apply complete: 1 created, 0 updated, 1 failed.",
        "error: 1 change(s) did not apply; run `certgov plan` to see what remains",
    ]
    remaining = live_sqlite.cli("plan", str(repo))
    assert remaining.stdout.splitlines()[:11] == [
        *plan_head(live_sqlite.url).splitlines(),
        "Risks for a security review:",
        "  ServiceAccount/acct-000: secret rotated: no one has logged in with the current secret",
        "  ServiceAccount/acct-001: secret rotated: no one has logged in with the current secret",
        "",
        "certgov will perform the following actions:",
        "",
        "  # ServiceAccount/acct-000 will have its secret rotated",
        "  # (the store local has no record at accounts/acct-000; the account was never used)",
    ]


def test_plan_markdown_carries_the_comment_marker(live_sqlite: LiveServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", 1, 0)
    result = live_sqlite.cli("plan", f"{repo}/", "--format", "markdown")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:3] == [
        f"<!-- certgov:plan:{repo} -->",
        "### certgov plan",
        "",
    ]
