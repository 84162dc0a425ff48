"""Environments of certgov.yaml, offline: each environment's settings, variables and objects, and
the commands that need to know which environment they work on."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from certgov.cli.main import cli
from certgov.declarations import load, load_each
from certgov.declarations.environments import Environment
from certgov.errors import DeclarationError
from certgov.state import POLICY, SERVICE_ACCOUNT
from tests.declarations.helpers import EXAMPLES, QUICKSTART, write_repo

EXAMPLE = EXAMPLES / "environments"
REFUSAL = (
    "error: certgov.yaml declares environments (staging, production): pass --env NAME (or set "
    "CERTGOV_ENV) to say which one\n"
)

OVERRIDES = """\
apiVersion: certgov/v1
kind: Config
secret_stores:
  local: {type: file, path: ".secrets/${var.tenant}"}
  shared: {type: file, path: .shared}
manage:
  ServiceAccount: {prune: disable, ignore: ["bootstrap-*"]}
  Policy: {prune: disable}
safety: {max_changes_fraction: 0.3, min_objects: 10}
rollout: {promote_after: 14d, min_requests: 20}
environments:
  staging:
    server: https://staging.clm.example.com/
    variables: {tenant: staging, port: 8443}
    secret_stores:
      shared: {type: command, command: [store-it]}
    manage:
      ServiceAccount: {prune: delete}
    safety: {max_changes_fraction: 0.5}
    rollout: {min_requests: 5}
  production:
    server: https://clm.example.com
    credentials_env: CERTGOV_PROD_
    variables: {tenant: production, port: 443}
    rollout: {after: staging}
"""


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def summary(path: Path, environment: str) -> list[tuple[str, object]]:
    """Each object of the environment with the values its variables made."""
    state = load(path, environment=environment).state
    return [
        (
            r.address,
            r.spec["matching_criteria"]["domains"] if r.kind == POLICY else r.spec["ip_allowlist"],
        )
        for r in state
    ]


def test_each_environment_has_its_variables_and_its_objects() -> None:
    assert summary(EXAMPLE, "staging") == [
        ("Policy/CA Guard", ["*.staging.example.com"]),
        ("Policy/Web Baseline", ["*.staging.example.com"]),
        ("ServiceAccount/deploy-pipeline", ["198.51.100.0/24"]),
        ("ServiceAccount/load-tester", ["198.51.100.0/24"]),
    ]
    assert summary(EXAMPLE, "production") == [
        ("Policy/CA Guard", ["*.example.com"]),
        ("Policy/Web Baseline", ["*.example.com"]),
        ("ServiceAccount/deploy-pipeline", ["203.0.113.0/24"]),
    ]


def test_an_environment_overrides_the_top_level_settings_key_by_key(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", {}, config=OVERRIDES)
    staging = load(repo, environment="staging").config
    production = load(repo, environment="production").config
    assert {n: dict(s) for n, s in staging.secret_stores.items()} == {
        "local": {"type": "file", "path": ".secrets/staging"},
        "shared": {"type": "command", "command": ["store-it"]},
    }
    assert dict(production.secret_stores["local"]) == {
        "type": "file",
        "path": ".secrets/production",
    }
    assert (staging.manage[SERVICE_ACCOUNT].prune, staging.manage[SERVICE_ACCOUNT].ignore) == (
        "delete",
        ("bootstrap-*",),
    )
    assert (staging.safety.max_changes_fraction, staging.safety.min_objects) == (0.5, 10)
    assert (staging.rollout.min_requests, staging.rollout.promote_after_seconds) == (5, 14 * 86400)
    assert production.rollout.min_requests == 20
    assert staging.environment == Environment(
        "staging",
        "https://staging.clm.example.com",
        "CERTGOV_",
        {"tenant": "staging", "port": "8443"},
    )
    assert production.environment is not None
    assert (production.environment.after, production.endpoint.credentials_env) == (
        "staging",
        "CERTGOV_PROD_",
    )
    assert production.endpoint_of("staging").server == "https://staging.clm.example.com"


def test_a_doubled_dollar_is_the_text_itself(tmp_path: Path) -> None:
    repo = write_repo(
        tmp_path / "repo",
        {
            "a.yaml": """\
                apiVersion: certgov/v1
                kind: ServiceAccount
                name: ci
                description: "$${var.tenant} is ${var.tenant}"
                scopes: [read]
            """
        },
        config=OVERRIDES,
    )
    (account,) = load(repo, environment="staging").state
    assert account.spec["description"] == "${var.tenant} is staging"


def test_a_repository_without_environments_loads_as_before() -> None:
    (decls,) = load_each(QUICKSTART)
    assert (decls.environment, decls.config.environments) == (None, ())
    assert decls.state == load(QUICKSTART).state


def test_validate_without_env_checks_every_environment() -> None:
    assert run("validate", str(EXAMPLE)) == (
        0,
        "ok: staging: 2 service accounts, 2 policies\n"
        "ok: production: 1 service account, 2 policies\n",
        "",
    )


def test_validate_json_counts_each_environment() -> None:
    code, out, _ = run("validate", str(EXAMPLE), "--format", "json")
    assert (code, json.loads(out)["counts"]) == (
        0,
        {
            "staging": {SERVICE_ACCOUNT: 2, POLICY: 2},
            "production": {SERVICE_ACCOUNT: 1, POLICY: 2},
        },
    )


def test_certgov_env_names_the_environment() -> None:
    assert run("validate", str(EXAMPLE), env={"CERTGOV_ENV": "production"}) == (
        0,
        "ok: production: 1 service account, 2 policies\n",
        "",
    )


def test_an_unknown_environment_is_refused_naming_those_declared() -> None:
    assert run("validate", str(EXAMPLE), "--env", "prod") == (
        1,
        "",
        "error: unknown environment 'prod'; certgov.yaml declares staging, production\n"
        f"  at {EXAMPLE}/certgov.yaml:19:1\n",
    )


def test_env_in_a_repository_without_environments_is_refused() -> None:
    assert run("plan", str(QUICKSTART), "--env", "staging") == (
        1,
        "",
        "error: unknown environment 'staging': certgov.yaml declares no environments\n",
    )


def test_environments_on_an_object_need_environments_in_certgov_yaml(tmp_path: Path) -> None:
    account = "apiVersion: certgov/v1\nkind: ServiceAccount\nname: ci\nscopes: [read]\n"
    repo = write_repo(tmp_path / "repo", {"a.yaml": account + "environments: [staging]\n"})
    with pytest.raises(DeclarationError) as info:
        load(repo)
    assert [str(p) for p in info.value.problems] == [
        f"{repo}/a.yaml:5:16: environments[0]: unknown environment 'staging': certgov.yaml "
        "declares no environments"
    ]


def git_copy(tmp_path: Path) -> Path:
    """The example in a git repository of its own (drift reads refs)."""
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)
    commit = ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"]
    for args in (["init", "-q"], ["add", "."], commit):
        subprocess.run(["git", *args], cwd=repo, check=True)
    return repo


@pytest.mark.parametrize(
    "command",
    [
        ["plan", "REPO"],
        ["apply", "REPO"],
        ["drift", "REPO", "--applied-ref", "HEAD"],
        ["rollout", "status", "REPO"],
        ["test", "REPO"],
        ["test", "REPO", "--offline"],
        ["secret", "adopt", "ServiceAccount/deploy-pipeline", "REPO", "--from-env", "S"],
        ["import", "--out", "REPO", "--url", "http://127.0.0.1:9"],
    ],
)
def test_without_env_a_command_that_talks_to_a_server_refuses_and_lists_the_environments(
    command: list[str], tmp_path: Path
) -> None:
    repo = str(git_copy(tmp_path))
    args = [repo if arg == "REPO" else arg for arg in command]
    assert run(*args, env={"S": "a-secret"}) == (1, "", REFUSAL)
