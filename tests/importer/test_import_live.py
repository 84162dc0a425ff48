"""`certgov import` against the real reference server: import, then plan shows no changes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from certgov.cli import cli
from certgov.cli.import_cmd import config_server
from certgov.errors import ApiError
from certgov.rules.catalogue import CATALOGUE
from tests.expected import no_changes
from tests.integration.conftest import LiveServer

ACCOUNTS = [
    {
        "name": "ci-policy-validation",
        "description": "Dry-runs policies in CI",
        "scopes": ["read"],
        "ip_allowlist": ["203.0.113.0/24", "2001:db8:100::/48", "192.0.2.10"],
        "expires_at": "2027-06-30T00:00:00+00:00",
    },
    {"name": "policy-pipeline: prod #1", "scopes": ["read", "write"]},
    {"name": "Policy Pipeline Prod 1", "scopes": ["write"], "description": "same file stem"},
    {"name": "retired", "scopes": ["admin"], "expires_at": "2026-12-31T12:30:00+00:00"},
]
SAMPLE_VALUES = {
    "enforce_values": {"organization": "Example Ltd", "country": "NZ", "locality": "Wellington"},
    "enforce_key_usage": {"key_usage": ["digitalSignature"], "extended_key_usage": ["serverAuth"]},
    "enforce_domain_suffix": {"suffix": "example.com"},
    "enforce_minimum_key_size": {"minimum_bits": "3072"},
    "enforce_algorithm": {"algorithm": "rsa"},
    "enforce_digest": {"digest": "sha256"},
    "enforce_max_validity": {"max_days": 397},
    "enforce_min_validity": {"min_days": "1"},
    "enforce_max_san_count": {"max_count": 10},
    "enforce_certificate_purpose": {"purpose": "server"},
}


def every_rule() -> list[dict[str, object]]:
    rules: list[dict[str, object]] = []
    for i, spec in enumerate(CATALOGUE):
        rule: dict[str, object] = {"action": spec.action, "fail": "hard" if i % 2 else "soft"}
        if spec.action in SAMPLE_VALUES:
            rule["values"] = SAMPLE_VALUES[spec.action]
        rules.append(rule)
    return rules


POLICIES = [
    {
        "name": "Everything Baseline",
        "description": "every rule of the catalogue",
        "is_enabled": True,
        "matching_criteria": {
            "action": "certificate.generate",
            "domains": ["*.Prod.Example.com", "prod.example.com", "bücher.example.com"],
        },
        "rules": every_rule(),
    },
    {
        "name": "renewals/short",
        "is_enabled": False,
        "matching_criteria": {"action": "certificate.renew", "domains": ["api.example.org"]},
        "rules": [{"action": "enforce_max_validity", "fail": "hard", "values": {"max_days": 30}}],
    },
]


def seed_accounts(live: LiveServer) -> None:
    with live.client() as client:
        for body in ACCOUNTS:
            created = client.create_service_account(body)
            if body["name"] == "retired":
                client.disable_service_account(created.data["uuid"])


def require_policies(live: LiveServer) -> None:
    """Plan reads every kind, so the round trip needs the server's policy endpoints."""
    with live.client() as client:
        try:
            client.list_policies()
        except ApiError as exc:
            pytest.skip(f"this reference server does not serve policies yet: {exc.message}")


def seed_policies(live: LiveServer) -> None:
    with live.client() as client:
        for body in POLICIES:
            client.create_policy(body)


def import_then_plan(live: LiveServer, out: Path, counts: str, *args: str) -> None:
    imported = live.cli("import", "--out", str(out), *args)
    assert imported.exit_code == 0, imported.output
    validated = CliRunner().invoke(cli, ["validate", str(out)])
    assert (validated.exit_code, validated.output) == (0, f"ok: {counts}\n")
    planned = live.cli("plan", str(out), "--detailed-exitcode", "--no-color")
    assert planned.exit_code == 0, planned.output
    objects = sum(int(n) for n in re.findall(r"\d+", counts))
    assert planned.stdout == no_changes(live.url, f"{objects} unchanged")


def test_import_of_accounts_plans_no_changes(live: LiveServer, tmp_path: Path) -> None:
    require_policies(live)
    seed_accounts(live)
    out = tmp_path / "imported"
    import_then_plan(live, out, "5 service accounts, 0 policies", "--kind", "ServiceAccount")
    assert sorted(p.name for p in (out / "service-accounts").iterdir()) == [
        "bootstrap-admin.yaml",
        "ci-policy-validation.yaml",
        "policy-pipeline-prod-1-2.yaml",
        "policy-pipeline-prod-1.yaml",
        "retired.yaml",
    ]


@pytest.mark.parametrize("split", ["per-object", "per-kind"])
def test_import_of_every_field_and_rule_kind_plans_no_changes(
    live: LiveServer, tmp_path: Path, split: str
) -> None:
    require_policies(live)
    seed_accounts(live)
    seed_policies(live)
    out = tmp_path / "imported"
    import_then_plan(live, out, "5 service accounts, 2 policies", "--split", split)


def test_import_writes_valid_declarations_and_says_what_is_left(
    live: LiveServer, tmp_path: Path
) -> None:
    seed_accounts(live)
    out = tmp_path / "imported"
    imported = live.cli("import", "--out", str(out), "--kind", "ServiceAccount")
    assert (imported.exit_code, imported.output) == (
        0,
        f"imported 5 service accounts, 0 policies into {out}: 10 files written, 0 unchanged\n"
        "next: fill in secret: for each service account (certgov lint lists them as CG006),"
        " then certgov plan should show no changes\n",
    )
    validated = CliRunner().invoke(cli, ["validate", str(out)])
    assert (validated.exit_code, validated.output) == (0, "ok: 5 service accounts, 0 policies\n")


def test_import_again_keeps_certgov_yaml_and_refuses_changed_files(
    live: LiveServer, tmp_path: Path
) -> None:
    seed_accounts(live)
    out = tmp_path / "imported"
    live.cli("import", "--out", str(out), "--kind", "ServiceAccount")
    again = live.cli("import", "--out", str(out), "--kind", "ServiceAccount")
    assert again.output == (
        f"imported 5 service accounts, 0 policies into {out}: 0 files written, 9 unchanged,"
        " the existing certgov.yaml kept\n"
        "next: fill in secret: for each service account (certgov lint lists them as CG006),"
        " then certgov plan should show no changes\n"
    )
    (out / "service-accounts" / "retired.yaml").write_text("edited\n")
    refused = live.cli("import", "--out", str(out), "--kind", "ServiceAccount")
    assert (refused.exit_code, refused.output) == (
        1,
        f"error: {out}: 1 file would be overwritten (service-accounts/retired.yaml);"
        " pass --force to overwrite\n",
    )
    forced = live.cli("import", "--out", str(out), "--kind", "ServiceAccount", "--force")
    assert forced.exit_code == 0
    assert (
        (out / "service-accounts" / "retired.yaml")
        .read_text()
        .startswith("# yaml-language-server: $schema=../schemas/service-account.json\n")
    )


def test_import_uses_the_server_of_an_existing_certgov_yaml(
    live: LiveServer, tmp_path: Path
) -> None:
    out = tmp_path / "repo"
    out.mkdir()
    config = f"apiVersion: certgov/v1\nkind: Config\nserver: {live.url}\n"
    (out / "certgov.yaml").write_text(config)
    result = CliRunner().invoke(
        cli,
        ["import", "--out", str(out), "--kind", "ServiceAccount", "--credentials", str(live.admin)],
    )
    assert result.exit_code == 0, result.output
    assert (out / "certgov.yaml").read_text() == config
    assert sorted(p.name for p in (out / "service-accounts").iterdir()) == ["bootstrap-admin.yaml"]


@pytest.mark.parametrize("text", ["server: [", "- a list\n", "\xff"])
def test_an_unreadable_certgov_yaml_gives_no_server(tmp_path: Path, text: str) -> None:
    (tmp_path / "certgov.yaml").write_bytes(text.encode("latin-1"))
    assert config_server(tmp_path) is None
