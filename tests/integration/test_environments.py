"""Environments (issue [environments]) end to end: examples/environments applied to a staging
and a production reference server from one repository, a shared change planned in both, the
target binding between them, the promotion gate, and import of two tenants into one repository.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from certgov.cli import cli
from certgov.client import canonical_api_root
from certgov.resources import data_dir
from tests.expected import NO_CHANGES
from tests.integration.conftest import LiveServer, start_server

ENVIRONMENTS = {"staging": "http://127.0.0.1:8201", "production": "http://127.0.0.1:8202"}


@dataclass
class Tenants:
    staging: LiveServer
    production: LiveServer
    repo: Path

    def server(self, env: str) -> LiveServer:
        return self.staging if env == "staging" else self.production

    def cli(self, *args: str) -> Result:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    def head(self, env: str, gate: str = "read", rollouts: bool = True) -> str:
        """The first lines of a text plan for `env`: with `rollouts`, what they were decided
        on (production's wait for staging's, which were read or not: `gate`)."""
        url = canonical_api_root(self.server(env).url)
        evidence = "audit log read" + (
            f", environment staging {gate}" if env == "production" else ""
        )
        said = f"; rollout evidence: {evidence}" if rollouts else ""
        return f"Target: {url} (environment {env})\nCompared: ServiceAccount live, Policy live{said}\n\n"


def config_for(example: Path, servers: dict[str, LiveServer]) -> str:
    """The example's certgov.yaml, its environments pointed at the reference servers."""
    text = (example / "certgov.yaml").read_text()
    for env, url in ENVIRONMENTS.items():
        text = text.replace(url, servers[env].url)
    return text


@pytest.fixture
def tenants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tenants]:
    """Two reference servers, the example repository pointed at them, and each environment's
    admin credentials in its CERTGOV_<ENV>_ variables."""
    starts = {}
    servers = {}
    for env in ENVIRONMENTS:
        (tmp_path / env).mkdir()
        starts[env] = start_server(f"sqlite:///{tmp_path / env / 'server.db'}", tmp_path / env)
        servers[env] = next(starts[env])
        for key, value in json.loads(servers[env].admin.read_text()).items():
            monkeypatch.setenv(f"CERTGOV_{env.upper()}_{key.upper()}", value)
    repo = tmp_path / "repo"
    shutil.copytree(data_dir("examples") / "environments", repo)
    (repo / "certgov.yaml").write_text(config_for(repo, servers))
    try:
        yield Tenants(servers["staging"], servers["production"], repo)
    finally:
        for start in starts.values():
            start.close()


def apply_both(tenants: Tenants) -> None:
    for env in ENVIRONMENTS:
        applied = tenants.cli("apply", str(tenants.repo), "--env", env, "--auto-approve")
        assert applied.exit_code == 0, applied.output


def test_the_example_applies_to_two_servers_and_plans_empty_in_both(tenants: Tenants) -> None:
    apply_both(tenants)
    staging = tenants.cli("plan", str(tenants.repo), "--env", "staging")
    production = tenants.cli("plan", str(tenants.repo), "--env", "production")
    assert (staging.exit_code, staging.stdout, staging.stderr) == (
        0,
        f"{tenants.head('staging')}{NO_CHANGES}\n\n"
        "Rollouts (rules declared hard, soft until they have earned it):\n"
        "  Web Baseline / require_san: hold: 0 of 7 days, 0 of 5 requests, 0 warnings\n\n"
        "Also: 4 unchanged, 1 ignored.\n",
        "",
    )
    assert (production.exit_code, production.stdout, production.stderr) == (
        0,
        f"{tenants.head('production')}{NO_CHANGES}\n\n"
        "Rollouts (rules declared hard, soft until they have earned it):\n"
        "  Web Baseline / require_san: hold: 0 of 14 days, 0 of 20 requests, 0 warnings; waits"
        " for staging: not hard in staging yet\n\n"
        "Also: 3 unchanged, 1 ignored.\n",
        "",
    )
    with tenants.production.client() as client:
        assert sorted(a["name"] for a in client.list_service_accounts()) == [
            "bootstrap-admin",
            "deploy-pipeline",
        ]


def shared_change_plan(tenants: Tenants, env: str, domain: str) -> str:
    return (
        f"{tenants.head(env)}"
        "certgov will perform the following actions:\n\n"
        "  # Policy/Web Baseline will be updated in place\n"
        "  ~ Policy/Web Baseline\n"
        f'      ~ description: "Every web certificate under {domain}" → "Every web certificate'
        f' under {domain}, valid for 200 days at most"\n'
        '      ~ rules.enforce_max_validity.values.max_days: "397" → "200"\n'
    )


def test_a_change_to_a_shared_policy_plans_in_both_with_each_environments_domain(
    tenants: Tenants,
) -> None:
    apply_both(tenants)
    web = tenants.repo / "policies" / "web-baseline.yaml"
    web.write_text(
        web.read_text()
        .replace("max_days: 397", "max_days: 200")
        .replace("under ${var.domain}", "under ${var.domain}, valid for 200 days at most")
    )
    for env, domain in (("staging", "staging.example.com"), ("production", "example.com")):
        planned = tenants.cli("plan", str(tenants.repo), "--env", env, "--backtest-days", "0")
        assert planned.exit_code == 0, planned.output
        rollout = (
            "hold: 0 of 7 days, 0 of 5 requests, 0 warnings"
            if env == "staging"
            else "hold: 0 of 14 days, 0 of 20 requests, 0 warnings; waits for staging: not hard"
            " in staging yet"
        )
        assert planned.stdout == (
            shared_change_plan(tenants, env, domain)
            + f"      rollout: require_san declared hard, applied soft ({rollout})\n"
            "      policy tests: 2 passed, 0 failed\n\n"
            "Plan: 0 to create, 1 to update, 0 to delete.\n\n"
            "Rollouts (rules declared hard, soft until they have earned it):\n"
            f"  Web Baseline / require_san: {rollout}\n\n"
            f"Also: {3 if env == 'staging' else 2} unchanged, 1 ignored.\n"
        )


def test_production_refuses_a_plan_file_made_for_staging(tenants: Tenants, tmp_path: Path) -> None:
    apply_both(tenants)
    (tenants.repo / "policies" / "ca-guard.yaml").write_text(
        (tenants.repo / "policies" / "ca-guard.yaml")
        .read_text()
        .replace("fail: soft", "fail: hard")
    )
    plan_file = tmp_path / "staging.json"
    made = tenants.cli("plan", str(tenants.repo), "--env", "staging", "--out", str(plan_file))
    assert made.exit_code == 0, made.output
    assert json.loads(plan_file.read_text())["target"] == {
        "url": canonical_api_root(tenants.staging.url),
        "environment": "staging",
    }
    staging = f"{canonical_api_root(tenants.staging.url)} (environment staging)"
    url_note = (
        f"note: using the API at {tenants.staging.url} from --url (server: of environment"
        f" production in certgov.yaml says {tenants.production.url})\n"
    )
    for args, where, note in (
        (("--env", "production"), canonical_api_root(tenants.production.url), ""),
        (
            ("--env", "production", "--url", tenants.staging.url),
            canonical_api_root(tenants.staging.url),
            url_note,
        ),
    ):
        refused = tenants.cli("apply", str(plan_file), *args)
        assert (refused.exit_code, refused.stdout, refused.stderr) == (
            1,
            "",
            f"{note}error: the plan was made for {staging}, not for {where} (environment"
            " production),"
            " where this apply would write; make the plan against this target, or point --env"
            " (or CERTGOV_ENV) and --url at the plan's; nothing was applied\n",
        )
    with tenants.production.client() as client:
        (guard,) = [p for p in client.list_policies() if p["name"] == "CA Guard"]
        assert [r["fail"] for r in guard["rules"]] == ["hard", "soft"]
    assert tenants.cli("apply", str(plan_file), "--env", "staging").exit_code == 0


def test_drift_reports_each_environment_on_its_own(tenants: Tenants) -> None:
    apply_both(tenants)
    with tenants.staging.client() as client:
        tester = client.find_service_account("load-tester")
        assert tester is not None
        client.disable_service_account(tester.data["uuid"])
    found = {}
    for env in ENVIRONMENTS:
        drift = tenants.cli("drift", str(tenants.repo), "--env", env, "--format", "json")
        report = json.loads(drift.stdout)
        found[env] = (
            drift.exit_code,
            report["environment"],
            report["target"],
            [o["address"] for o in report["out_of_band"]],
        )
    markdown = tenants.cli("drift", str(tenants.repo), "--env", "staging", "--format", "markdown")

    assert found == {
        "staging": (
            4,
            "staging",
            canonical_api_root(tenants.staging.url),
            ["ServiceAccount/load-tester"],
        ),
        "production": (0, "production", canonical_api_root(tenants.production.url), []),
    }
    assert markdown.stdout.splitlines()[:2] == [
        f"<!-- certgov:drift:{tenants.repo.as_posix()} env=staging -->",
        "### certgov drift: staging",
    ]


def request_certificates(server: LiveServer, domain: str, count: int) -> None:
    with server.client() as client:
        for i in range(count):
            name = f"www{i}.{domain}"
            client.request_certificate(
                {
                    "action": "certificate.generate",
                    "common_name": name,
                    "sans": {"dns": [name]},
                    "key": {"algorithm": "ecdsa", "size": 256},
                    "digest": "sha256",
                    "validity_days": 90,
                }
            )


def status(tenants: Tenants, env: str) -> str:
    result = tenants.cli("rollout", "status", str(tenants.repo), "--env", env)
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    return result.stdout


HEADER = "POLICY        RULE         STATE                  DAYS  REQUESTS  WARNINGS  DETAIL\n"
GATE = (
    "Gate: a rule is promoted here only once the same rule has been hard in staging for its "
    "promote_after.\n"
)


def today(server: LiveServer) -> str:
    return server.clock().date().isoformat()


def test_the_promotion_gate_holds_until_the_rule_has_been_hard_in_staging_long_enough(
    tenants: Tenants,
) -> None:
    apply_both(tenants)
    soft_since = today(tenants.production)
    request_certificates(tenants.staging, "staging.example.com", 5)
    request_certificates(tenants.production, "example.com", 20)
    tenants.staging.clock.advance(days=8)
    tenants.production.clock.advance(days=15)
    waiting = (
        f"{GATE}{HEADER}"
        f"Web Baseline  require_san  soft since {soft_since}  15    20        0         ready here"
        " (soft for 15 days, 20 requests, 0 warnings); waits for staging: {}\n"
    )
    assert status(tenants, "production") == waiting.format("not hard in staging yet")

    promoted = tenants.cli("apply", str(tenants.repo), "--env", "staging", "--auto-promote")
    assert promoted.exit_code == 0, promoted.output
    hard_since = today(tenants.staging)
    assert status(tenants, "production") == waiting.format("hard in staging for 0 of 14 days")

    tenants.staging.clock.advance(days=14)
    assert status(tenants, "production") == (
        f"{GATE}"
        "POLICY        RULE         STATE             DAYS  REQUESTS  WARNINGS  DETAIL\n"
        "Web Baseline  require_san  ready to promote  15    20        0         soft for 15 days,"
        f" 20 requests, 0 warnings; hard in staging for 14 days (since {hard_since})\n"
    )
    released = tenants.cli("apply", str(tenants.repo), "--env", "production", "--auto-promote")
    assert released.stdout.splitlines()[-1] == (
        "Apply complete: 0 created, 0 updated, 1 promoted, 0 failed."
    )
    with tenants.production.client() as client:
        (web,) = [p for p in client.list_policies() if p["name"] == "Web Baseline"]
        assert {r["action"]: r["fail"] for r in web["rules"]}["require_san"] == "hard"


def test_without_staging_s_credentials_the_production_plan_says_so_and_promotes_nothing(
    tenants: Tenants, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_both(tenants)
    request_certificates(tenants.production, "example.com", 20)
    tenants.production.clock.advance(days=15)
    for key in ("UUID", "CLIENT_ID", "CLIENT_SECRET"):
        monkeypatch.delenv(f"CERTGOV_STAGING_{key}")
    planned = tenants.cli("plan", str(tenants.repo), "--env", "production")
    unreadable = (
        "staging could not be read (no credentials: pass --credentials FILE, or set"
        " CERTGOV_STAGING_UUID, CERTGOV_STAGING_CLIENT_ID, CERTGOV_STAGING_CLIENT_SECRET)"
    )
    assert (planned.exit_code, planned.stdout) == (
        0,
        f"{tenants.head('production', gate='NOT READ')}"
        "warning: rollout gate: the rollouts of environment staging could not be read, so no rule"
        " is promoted: no credentials: pass --credentials FILE, or set CERTGOV_STAGING_UUID,"
        " CERTGOV_STAGING_CLIENT_ID, CERTGOV_STAGING_CLIENT_SECRET\n\n"
        f"{NO_CHANGES}\n\n"
        "Rollouts (rules declared hard, soft until they have earned it):\n"
        "  Web Baseline / require_san: hold: ready here (soft for 15 days, 20 requests, 0"
        f" warnings); waits for staging: {unreadable}\n\n"
        "Also: 3 unchanged, 1 ignored.\n",
    )
    plan_file = tenants.repo.parent / "production-plan.json"
    made = tenants.cli("plan", str(tenants.repo), "--env", "production", "--out", str(plan_file))
    assert made.exit_code == 0, made.output
    assert json.loads(plan_file.read_text())["evidence"] == {
        "audit log": {"read": True, "reason": None},
        "environment staging": {"read": False, "reason": unreadable.split(" (", 1)[1][:-1]},
    }


def test_url_and_credentials_options_still_win_over_the_environment_s(
    tenants: Tenants,
) -> None:
    config = tenants.repo / "certgov.yaml"
    config.write_text(config.read_text().replace(tenants.staging.url, "http://127.0.0.1:9"))
    tenants.staging.new_credentials("other-admin", ["admin"])
    planned = tenants.cli(
        "plan",
        str(tenants.repo),
        "--env",
        "staging",
        "--url",
        tenants.staging.url,
        "--credentials",
        str(tenants.staging.workdir / "other-admin.json"),
        "--backtest-days",
        "0",
    )
    assert planned.exit_code == 0, planned.output
    assert planned.stderr == (
        f"note: using the API at {tenants.staging.url} from --url (server: of environment staging"
        " in certgov.yaml says http://127.0.0.1:9)\n"
    )
    assert planned.stdout.startswith(tenants.head("staging"))


# -- import of two seeded tenants into one repository ------------------------------------------


def seed(server: LiveServer, domain: str, office: str, legacy_days: int, tester: bool) -> None:
    """A tenant made by hand, as one found before certgov."""
    with server.client() as client:
        client.create_policy(
            {
                "name": "Web Baseline",
                "description": f"Every web certificate under {domain}",
                "is_enabled": True,
                "matching_criteria": {"action": "certificate.generate", "domains": [f"*.{domain}"]},
                "rules": [
                    {
                        "action": "enforce_domain_suffix",
                        "fail": "hard",
                        "values": {"suffix": domain},
                    },
                    {"action": "enforce_max_validity", "fail": "hard", "values": {"max_days": 397}},
                ],
            }
        )
        client.create_policy(
            {
                "name": "Legacy Apps",
                "description": "Old applications, being retired",
                "is_enabled": True,
                "matching_criteria": {
                    "action": "certificate.generate",
                    "domains": [f"legacy.{domain}"],
                },
                "rules": [
                    {
                        "action": "enforce_max_validity",
                        "fail": "soft",
                        "values": {"max_days": legacy_days},
                    }
                ],
            }
        )
        accounts = [("deploy-pipeline", f"Deploys to {domain}")]
        accounts += [("load-tester", "Load tests before a release")] if tester else []
        for name, description in accounts:
            client.create_service_account(
                {
                    "name": name,
                    "description": description,
                    "scopes": ["read", "write"],
                    "ip_allowlist": [office],
                    "expires_at": "2027-06-30T00:00:00Z",
                }
            )


WEB_BASELINE = """\
# yaml-language-server: $schema=../schemas/policy.json
apiVersion: certgov/v1
kind: Policy
name: Web Baseline
description: Every web certificate under ${var.domain}
enabled: true
matching_criteria:
  action: certificate.generate
  domains:
  - '*.${var.domain}'
rules:
- action: enforce_domain_suffix
  fail: hard
  values:
    suffix: ${var.domain}
- action: enforce_max_validity
  fail: hard
  values:
    max_days: 397
"""

LEGACY_APPS = """\
# yaml-language-server: $schema=../schemas/policy.json
apiVersion: certgov/v1
kind: Policy
name: Legacy Apps
environments:
- staging
description: Old applications, being retired
enabled: true
matching_criteria:
  action: certificate.generate
  domains:
  - legacy.staging.example.com
rules:
- action: enforce_max_validity
  fail: soft
  values:
    max_days: 30
---
apiVersion: certgov/v1
kind: Policy
name: Legacy Apps
environments:
- production
description: Old applications, being retired
enabled: true
matching_criteria:
  action: certificate.generate
  domains:
  - legacy.example.com
rules:
- action: enforce_max_validity
  fail: soft
  values:
    max_days: 90
"""


def test_importing_two_seeded_tenants_into_one_repository_plans_empty_in_both(
    tenants: Tenants, tmp_path: Path
) -> None:
    seed(tenants.staging, "staging.example.com", "198.51.100.0/24", 30, tester=True)
    seed(tenants.production, "example.com", "203.0.113.0/24", 90, tester=False)
    out = tmp_path / "imported"
    out.mkdir()
    (out / "certgov.yaml").write_text((tenants.repo / "certgov.yaml").read_text())
    said = [tenants.cli("import", "--out", str(out), "--env", env) for env in ENVIRONMENTS]
    assert [(r.exit_code, r.stdout) for r in said] == [
        (
            0,
            f"imported environment staging into {out}: 0 declarations shared with other"
            " environments, 4 only in staging; 8 files written\n",
        ),
        (
            0,
            f"imported environment production into {out}: 2 declarations shared with other"
            " environments, 1 only in production; 3 files written\n",
        ),
    ]
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.yaml")) == [
        "certgov.yaml",
        "policies/legacy-apps.yaml",
        "policies/web-baseline.yaml",
        "service-accounts/deploy-pipeline.yaml",
        "service-accounts/load-tester.yaml",
    ]
    assert (out / "policies" / "web-baseline.yaml").read_text() == WEB_BASELINE
    assert (out / "policies" / "legacy-apps.yaml").read_text() == LEGACY_APPS
    for env in ENVIRONMENTS:
        planned = tenants.cli("plan", str(out), "--env", env)
        unchanged = 4 if env == "staging" else 3
        assert (planned.exit_code, planned.stdout) == (
            0,
            f"{tenants.head(env, rollouts=False)}{NO_CHANGES}\nAlso: {unchanged} unchanged, 1 ignored.\n",
        )
    again = [tenants.cli("import", "--out", str(out), "--env", env).stdout for env in ENVIRONMENTS]
    assert [line.rsplit("; ", 1)[1] for line in again] == ["0 files written\n"] * 2
