"""A plan that cannot mislead its reviewer (issue [truth]): each way it misled, as a user meets it,
against the real reference server and the real CLI.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from certgov.client import ClmClient, Credentials, canonical_api_root
from certgov.errors import AuthenticationError
from tests.expected import plan_head
from tests.integration.conftest import LiveServer
from tests.integration.crashrepo import CONFIG, write_repo


def account_names(live: LiveServer) -> dict[str, bool]:
    with live.client() as client:
        return {a["name"]: a["is_active"] for a in client.list_service_accounts()}


def use_secrets(repo: Path) -> None:
    """Every stored secret logs in once, as its consumers would (the account is then in use)."""
    for path in sorted((repo / ".certgov-secrets" / "accounts").glob("*.json")):
        record = json.loads(path.read_text())
        creds = Credentials(record["uuid"], record["client_id"], record["client_secret"])
        with ClmClient(record["server_url"], creds) as client:
            client.verify()


def test_a_read_account_plan_of_changed_accounts_is_partial_never_no_changes(
    live_sqlite: LiveServer, tmp_path: Path
) -> None:
    repo = write_repo(tmp_path / "repo", 1, 0)
    assert live_sqlite.cli("apply", str(repo), "--auto-approve").exit_code == 0
    accounts = repo / "accounts.yaml"
    accounts.write_text(accounts.read_text().replace("scopes: [read]", "scopes: [read, write]"))
    reader = live_sqlite.new_credentials("pr-reader", ["read"])
    planned = live_sqlite.cli("plan", str(repo), "--format", "markdown", creds=reader)
    assert planned.exit_code == 1
    assert "No changes" not in planned.stdout
    assert planned.stdout.splitlines()[3:9] == [
        f"**Target: {canonical_api_root(live_sqlite.url)}** · Compared: ServiceAccount not "
        "planned, Policy live",
        "",
        "> [!CAUTION]",
        "> **Partial plan**: these kinds were not compared, so their changes are not shown:",
        "> - **ServiceAccount**: reading service accounts needs scope admin; this account has read",
        "",
    ]
    assert planned.stderr.splitlines()[-1] == (
        "error: the plan is partial: ServiceAccount not compared (see the banner); pass "
        "--allow-partial to accept a plan that cannot show their changes"
    )
    allowed = live_sqlite.cli("plan", str(repo), "--allow-partial", creds=reader)
    assert allowed.exit_code == 0, allowed.output
    assert allowed.stdout == (
        f"Target: {canonical_api_root(live_sqlite.url)}\n"
        "Compared: ServiceAccount not planned, Policy live\n"
        "PARTIAL PLAN: these kinds were not compared, so their changes are not shown:\n"
        "  ServiceAccount: reading service accounts needs scope admin; this account has read\n"
        "\n"
        "Nothing to change in what was compared; this plan is partial (see above).\n"
    )


def test_apply_refuses_a_partial_plan_file(live_sqlite: LiveServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", 1, 0)
    reader = live_sqlite.new_credentials("pr-reader", ["read"])
    plan_file = tmp_path / "plan.json"
    made = live_sqlite.cli(
        "plan", str(repo), "--allow-partial", "--out", str(plan_file), creds=reader
    )
    assert made.exit_code == 0, made.output
    refused = live_sqlite.cli("apply", str(plan_file))
    assert (refused.exit_code, refused.stderr) == (
        1,
        "error: refusing a partial plan: it did not compare ServiceAccount (ServiceAccount: "
        "reading service accounts needs scope admin; this account has read); make the plan with "
        "an account that can read every managed kind; nothing was applied\n",
    )
    assert list(account_names(live_sqlite)) == ["bootstrap-admin", "pr-reader"]


def test_a_plan_file_made_for_one_server_is_refused_by_another(
    live_sqlite: LiveServer, other_server: LiveServer, tmp_path: Path
) -> None:
    repo = write_repo(tmp_path / "repo", 1, 0)
    plan_file = tmp_path / "plan.json"
    assert live_sqlite.cli("plan", str(repo), "--out", str(plan_file)).exit_code == 0
    assert json.loads(plan_file.read_text())["target"] == {
        "url": canonical_api_root(live_sqlite.url),
        "environment": None,
    }
    refused = other_server.cli("apply", str(plan_file))
    assert (refused.exit_code, refused.stderr) == (
        1,
        f"error: the plan was made for {canonical_api_root(live_sqlite.url)}, not for "
        f"{canonical_api_root(other_server.url)}, where this apply would write; make the plan "
        "against this target, or point --url (or CERTGOV_URL, or server: in certgov.yaml) at "
        "the plan's; nothing was applied\n",
    )
    assert list(account_names(other_server)) == ["bootstrap-admin"]
    applied = live_sqlite.cli("apply", str(plan_file))
    assert applied.exit_code == 0, applied.output


def test_a_plan_file_of_a_relative_folder_applied_elsewhere_says_where_to_run(
    live_sqlite: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = write_repo(tmp_path / "repo", 1, 0)
    plan_file = tmp_path / "plan.json"
    monkeypatch.chdir(repo)
    assert live_sqlite.cli("plan", "--out", str(plan_file)).exit_code == 0
    monkeypatch.chdir(tmp_path)
    refused = live_sqlite.cli("apply", str(plan_file))
    assert (refused.exit_code, refused.stderr) == (
        1,
        f"error: the plan was made from the declarations in '.', and {tmp_path.resolve()} "
        "holds no certgov.yaml: run apply in the folder plan ran in\n",
    )
    other = tmp_path / "other"
    shutil.copytree(repo, other)
    (other / "accounts.yaml").write_text((repo / "accounts.yaml").read_text() + "# edited\n")
    monkeypatch.chdir(other)
    elsewhere = live_sqlite.cli("apply", str(plan_file))
    assert (elsewhere.exit_code, elsewhere.stderr) == (
        1,
        f"error: the declarations at . (from here, {other.resolve()}) changed since the plan "
        "was made; make a new plan, or pass --ignore-source to apply it anyway\n",
    )
    assert list(account_names(live_sqlite)) == ["bootstrap-admin"]
    monkeypatch.chdir(repo)
    applied = live_sqlite.cli("apply", str(plan_file))
    assert applied.exit_code == 0, applied.output


def test_certgov_url_overriding_server_is_said(
    live_sqlite: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = write_repo(tmp_path / "repo", 0, 0)
    (repo / "certgov.yaml").write_text(CONFIG + "server: https://clm.example.com\n")
    monkeypatch.setenv("CERTGOV_URL", live_sqlite.url)
    from click.testing import CliRunner

    from certgov.cli import cli

    result = CliRunner().invoke(cli, ["plan", str(repo), "--credentials", str(live_sqlite.admin)])
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"note: using the API at {live_sqlite.url} from CERTGOV_URL (server: in certgov.yaml "
        "says https://clm.example.com)\n"
    )
    assert result.stdout.startswith(plan_head(live_sqlite.url))


def test_a_plan_whose_policy_tests_fail_is_not_written_and_an_old_one_is_removed(
    live_sqlite: LiveServer, tmp_path: Path
) -> None:
    repo = write_repo(tmp_path / "repo", 0, 1)
    policies = repo / "policies.yaml"
    policies.write_text(policies.read_text().replace("expect: block", "expect: pass"))
    plan_file = tmp_path / "plan.json"
    plan_file.write_text("an old plan a workflow must not upload")
    planned = live_sqlite.cli("plan", str(repo), "--out", str(plan_file))
    assert planned.exit_code == 1
    assert not plan_file.exists()
    assert planned.stderr.splitlines()[-1] == (
        f"error: 1 policy test failed; the plan was not written to {plan_file}"
    )


def test_prune_never_disables_the_account_certgov_is_logged_in_as(
    live_sqlite: LiveServer, tmp_path: Path
) -> None:
    repo = write_repo(tmp_path / "repo", 1, 0)
    (repo / "certgov.yaml").write_text(CONFIG.replace(', ignore: ["bootstrap-*"]', ""))
    planned = live_sqlite.cli("plan", str(repo))
    assert planned.exit_code == 0, planned.output
    assert planned.stdout.splitlines()[-5:] == [
        "",
        "Held back: changes that would cut off the account this run is logged in as:",
        "  ServiceAccount/bootstrap-admin: disable: this run is logged in as this account, and "
        "it would be disabled: make that change as another admin account",
        "",
        "Also: 1 unmanaged (not declared; pruned only if manage says so).",
    ]
    applied = live_sqlite.cli("apply", str(repo), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert account_names(live_sqlite) == {"acct-000": True, "bootstrap-admin": True}


def test_a_fresh_checkout_does_not_rotate_secrets_in_use_without_rotate_missing(
    live_sqlite: LiveServer, tmp_path: Path
) -> None:
    repo = write_repo(tmp_path / "repo", 2, 0)
    assert live_sqlite.cli("apply", str(repo), "--auto-approve").exit_code == 0
    use_secrets(repo)
    kept = tmp_path / "kept-secrets"
    shutil.copytree(repo / ".certgov-secrets", kept)
    shutil.rmtree(repo / ".certgov-secrets")  # a fresh CI runner: the file store is empty
    planned = live_sqlite.cli("plan", str(repo))
    assert planned.exit_code == 0, planned.output
    assert planned.stdout.split("Plan: 0 to create, 0 to update, 0 to delete, 2 to rotate.\n")[
        1
    ] == (
        "\n"
        "The store holds no secret for 2 accounts in use: rotating them cuts off whoever uses the "
        "current secret.\n"
        "  ServiceAccount/acct-000: the store local has no record at accounts/acct-000\n"
        "  ServiceAccount/acct-001: the store local has no record at accounts/acct-001\n"
        "  apply refuses these rotations unless the plan is made with --rotate-missing; to keep "
        "a secret in use, store it with `certgov secret adopt ServiceAccount/NAME`\n"
        "\n"
        "Also: 1 ignored.\n"
    )
    refused = live_sqlite.cli("apply", str(repo), "--auto-approve")
    assert refused.exit_code == 1
    assert refused.stderr.splitlines()[-1] == (
        "error: refusing to rotate the secret of ServiceAccount/acct-000, ServiceAccount/acct-001 "
        "only because the store has no record of it: that cuts off whoever uses the current "
        "secret. Store the secret in use with `certgov secret adopt ServiceAccount/NAME`, or make "
        "the plan with --rotate-missing to rotate anyway; nothing was applied"
    )
    use_old = kept / "accounts" / "acct-000.json"
    record = json.loads(use_old.read_text())
    with ClmClient(
        live_sqlite.url, Credentials(record["uuid"], record["client_id"], record["client_secret"])
    ) as client:
        client.verify()  # the secret in use still works
    rotated = live_sqlite.cli("apply", str(repo), "--auto-approve", "--rotate-missing")
    assert rotated.exit_code == 0, rotated.output
    assert rotated.stdout.splitlines()[-1] == (
        "Apply complete: 0 created, 0 updated, 2 rotated, 0 failed."
    )


def test_secret_adopt_stores_the_secret_in_use_so_plan_rotates_nothing(
    live_sqlite: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = write_repo(tmp_path / "repo", 1, 0)
    assert live_sqlite.cli("apply", str(repo), "--auto-approve").exit_code == 0
    use_secrets(repo)
    record_file = repo / ".certgov-secrets" / "accounts" / "acct-000.json"
    secret = json.loads(record_file.read_text())["client_secret"]
    record_file.unlink()

    monkeypatch.setenv("WRONG", "x" * 64)
    wrong = live_sqlite.cli(
        "secret", "adopt", "ServiceAccount/acct-000", str(repo), "--from-env", "WRONG"
    )
    assert wrong.exit_code == 1
    assert wrong.stderr.splitlines()[-1] == (
        "error: the secret does not log in as ServiceAccount/acct-000: the server refused it "
        "with the account's uuid and client_id (INVALID_CREDENTIALS); nothing was written"
    )
    assert not record_file.exists()

    adopted = live_sqlite.cli(
        "secret", "adopt", "ServiceAccount/acct-000", str(repo), input=secret + "\n"
    )
    assert adopted.exit_code == 0, adopted.output
    assert adopted.stdout == (
        "stored the secret in use of ServiceAccount/acct-000 in local at accounts/acct-000 (a "
        "login as the account worked; its session is revoked); plan no longer rotates it for a "
        "missing record\n"
    )
    assert secret not in adopted.output
    planned = live_sqlite.cli("plan", str(repo), "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output


def test_secret_adopt_is_proven_by_an_ip_refusal_after_the_secret_checked_out(
    live_sqlite: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = write_repo(tmp_path / "repo", 1, 0)
    accounts = repo / "accounts.yaml"
    accounts.write_text(accounts.read_text().replace('[127.0.0.1, "::1"]', "[192.0.2.1]"))
    assert live_sqlite.cli("apply", str(repo), "--auto-approve").exit_code == 0
    record_file = repo / ".certgov-secrets" / "accounts" / "acct-000.json"
    monkeypatch.setenv("SECRET", json.loads(record_file.read_text())["client_secret"])
    record_file.unlink()
    adopted = live_sqlite.cli(
        "secret", "adopt", "ServiceAccount/acct-000", str(repo), "--from-env", "SECRET"
    )
    assert adopted.exit_code == 0, adopted.output
    assert adopted.stdout == (
        "stored the secret in use of ServiceAccount/acct-000 in local at accounts/acct-000 (the "
        "server checked the secret before refusing the login (IP_NOT_ALLOWED)); plan no longer "
        "rotates it for a missing record\n"
    )
    with (
        pytest.raises(AuthenticationError) as refused,
        ClmClient(live_sqlite.url, Credentials.from_file(record_file)) as client,
    ):
        client.verify()
    assert refused.value.code == "IP_NOT_ALLOWED"


def test_a_policy_without_tests_is_proven_by_a_probe_not_counted_as_a_test(
    live_sqlite: LiveServer, tmp_path: Path
) -> None:
    repo = write_repo(tmp_path / "repo", 0, 0)
    (repo / "policies.yaml").write_text(
        "apiVersion: certgov/v1\nkind: Policy\nname: Labs\n"
        "matching_criteria: {action: certificate.generate, domains: [labs.example.com]}\n"
        "rules:\n  - {action: block_ca_flag, fail: hard}\n"
    )
    planned = live_sqlite.cli("plan", str(repo), "--format", "markdown")
    assert planned.exit_code == 0, planned.output
    lines = planned.stdout.splitlines()
    assert "policy tests" not in planned.stdout
    assert "Dry-run probe passed (no tests declared: the server accepted a plain request)" in lines
    applied = live_sqlite.cli("apply", str(repo), "--auto-approve")
    assert applied.stdout.splitlines()[-2:] == [
        "Policy/Labs: created disabled, dry-run probe passed, enabled",
        "Apply complete: 1 created, 0 updated, 0 failed.",
    ]
