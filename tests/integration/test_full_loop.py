"""The quickstart end to end against the real server: validate → plan → apply → plan again."""

from __future__ import annotations

import json
from pathlib import Path

from certgov.plan.schema import plan_schema_problems
from tests.expected import NO_CHANGES, plan_head, url_note
from tests.integration.conftest import LiveServer, copy_example


def test_quickstart_plan_apply_plan_has_no_changes(live: LiveServer, tmp_path: Path) -> None:
    repo = copy_example("quickstart", tmp_path)
    plan_file = tmp_path / "plan.json"
    planned = live.cli("plan", str(repo), "--out", str(plan_file), "--detailed-exitcode")
    assert planned.exit_code == 2, planned.output
    document = json.loads(plan_file.read_text())
    assert plan_schema_problems(document) == []
    assert document["summary"]["create"] == 6
    tests = {c["address"]: c["tests"] for c in document["changes"] if "tests" in c}
    assert {a: (t["passed"], t["failed"]) for a, t in tests.items()} == {
        "Policy/Development Policy": (3, 0),
        "Policy/Global Security Baseline": (3, 0),
        "Policy/Production Security Baseline": (4, 0),
    }

    applied = live.cli("apply", str(plan_file))
    assert applied.exit_code == 0, applied.output
    assert applied.stdout.splitlines()[-1] == "Apply complete: 6 created, 0 updated, 0 failed."
    assert applied.stderr.splitlines() == [url_note(live.url)]

    again = live.cli("plan", str(repo), "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    compared = "ServiceAccount live, Policy live; rollout evidence: audit log read"
    assert again.stdout.startswith(plan_head(live.url, compared) + NO_CHANGES + "\n")

    with live.client() as client:
        policies = {p["name"]: p for p in client.list_policies()}
    assert {n: p["is_enabled"] for n, p in policies.items()} == {
        "Development Policy": True,
        "Global Security Baseline": True,
        "Production Security Baseline": True,
    }
    rules = {r["action"]: r["fail"] for r in policies["Production Security Baseline"]["rules"]}
    assert rules["require_san"] == "soft"  # rolled out soft first


def test_apply_of_a_plan_file_refuses_a_stale_plan(live: LiveServer, tmp_path: Path) -> None:
    repo = copy_example("quickstart", tmp_path)
    assert live.cli("apply", str(repo), "--auto-approve").exit_code == 0
    (repo / "policies" / "development.yaml").write_text(
        (repo / "policies" / "development.yaml").read_text().replace("max_days: 30", "max_days: 14")
    )
    plan_file = tmp_path / "plan.json"
    assert live.cli("plan", str(repo), "--out", str(plan_file)).exit_code == 0
    with live.client() as client:
        dev = client.find_policy("Development Policy")
        assert dev is not None
        body = {k: dev.data[k] for k in ("name", "description", "matching_criteria", "rules")}
        client.replace_policy(
            dev.data["id"], {**body, "description": "by hand", "is_enabled": True}
        )
    refused = live.cli("apply", str(plan_file))
    assert refused.exit_code == 1
    assert refused.stderr == (
        f"{url_note(live.url)}\n"
        "error: the plan is stale; make a new plan. Changed since the plan:\n"
        "  Policy/Development Policy: changed since the plan (description: "
        "'Short-lived certificates for development, only under dev.example.com' → 'by hand')\n"
    )


def test_apply_refuses_a_plan_whose_sources_changed(live: LiveServer, tmp_path: Path) -> None:
    repo = copy_example("quickstart", tmp_path)
    plan_file = tmp_path / "plan.json"
    assert live.cli("plan", str(repo), "--out", str(plan_file)).exit_code == 0
    (repo / "policies" / "development.yaml").write_text(
        (repo / "policies" / "development.yaml").read_text() + "\n# edited\n"
    )
    refused = live.cli("apply", str(plan_file))
    assert refused.exit_code == 1
    assert refused.stderr == (
        f"error: the declarations at {repo} changed since the plan was made; make a new plan, "
        "or pass --ignore-source to apply it anyway\n"
    )
    assert live.cli("apply", str(plan_file), "--ignore-source").exit_code == 0


def test_expect_fingerprint_refuses_other_changes(live: LiveServer, tmp_path: Path) -> None:
    repo = copy_example("quickstart", tmp_path)
    reviewed = tmp_path / "reviewed.json"
    assert live.cli("plan", str(repo), "--out", str(reviewed)).exit_code == 0
    (repo / "policies" / "development.yaml").write_text(
        (repo / "policies" / "development.yaml").read_text().replace("max_days: 30", "max_days: 14")
    )
    refused = live.cli("apply", str(repo), "--auto-approve", "--expect-plan", str(reviewed))
    assert refused.exit_code == 1
    note, *lines = refused.stderr.splitlines()
    assert note == url_note(live.url)
    assert lines[0].startswith("error: the plan's changes (sha256:")
    assert lines[1:] == [
        "  ~ create Policy/Development Policy: differs in"
        " after.rules.enforce_max_validity.values.max_days, tests.results"
    ]
    fingerprint = json.loads(reviewed.read_text())["changes_fingerprint"]
    (repo / "policies" / "development.yaml").write_text(
        (repo / "policies" / "development.yaml").read_text().replace("max_days: 14", "max_days: 30")
    )
    ok = live.cli("apply", str(repo), "--auto-approve", "--expect-fingerprint", fingerprint)
    assert ok.exit_code == 0, ok.output
