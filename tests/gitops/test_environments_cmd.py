"""`certgov environments`: the targets a workflow's matrix runs over, in the order to apply them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from certgov.cli.main import cli
from tests.declarations.helpers import EXAMPLES, QUICKSTART, write_repo

HEAD = "apiVersion: certgov/v1\nkind: Config\n"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["environments", *args])
    return result.exit_code, result.stdout, result.stderr


def entry(
    name: str | None,
    server: str | None,
    prefix: str = "CERTGOV_",
    after: str | None = None,
    after_prefix: str | None = None,
) -> dict[str, object]:
    return {
        "name": name,
        "server": server,
        "credentials_env": prefix,
        "after": after,
        "after_credentials_env": after_prefix,
    }


def test_the_example_lists_staging_then_production_which_waits_for_it() -> None:
    assert run(str(EXAMPLES / "environments")) == (
        0,
        "ENVIRONMENT  SERVER                 CREDENTIALS           AFTER\n"
        "staging      http://127.0.0.1:8201  CERTGOV_STAGING_*     -\n"
        "production   http://127.0.0.1:8202  CERTGOV_PRODUCTION_*  staging\n",
        "",
    )


def test_json_is_a_matrix_with_the_credentials_of_the_environment_waited_for() -> None:
    code, out, err = run(str(EXAMPLES / "environments"), "--format", "json")

    assert (code, json.loads(out), err) == (
        0,
        [
            entry("staging", "http://127.0.0.1:8201", "CERTGOV_STAGING_"),
            entry(
                "production",
                "http://127.0.0.1:8202",
                "CERTGOV_PRODUCTION_",
                "staging",
                "CERTGOV_STAGING_",
            ),
        ],
        "",
    )


def test_without_environments_one_entry_stands_for_the_one_target() -> None:
    assert run(str(QUICKSTART)) == (
        0,
        "ENVIRONMENT  SERVER                 CREDENTIALS  AFTER\n"
        "(none)       http://127.0.0.1:8200  CERTGOV_*    -\n",
        "",
    )
    code, out, _ = run(str(QUICKSTART), "--format", "json")
    assert (code, json.loads(out)) == (0, [entry(None, "http://127.0.0.1:8200")])


def test_without_a_server_the_one_target_has_none(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", {})

    code, out, _ = run(str(repo), "--format", "json")

    assert (code, json.loads(out)) == (0, [entry(None, None)])


def test_each_environment_comes_after_the_one_it_waits_for_whatever_the_file_order(
    tmp_path: Path,
) -> None:
    config = (
        f"{HEAD}environments:\n"
        "  production:\n"
        "    server: https://clm.example.com\n"
        "    credentials_env: PROD_\n"
        "    rollout: {after: staging}\n"
        "  sandbox: {server: https://sandbox.example.com}\n"
        "  staging:\n"
        "    server: https://staging.example.com\n"
        "    credentials_env: STAGING_\n"
        "    rollout: {after: dev}\n"
        "  dev: {server: https://dev.example.com, credentials_env: DEV_}\n"
    )
    repo = write_repo(tmp_path / "repo", {}, config=config)

    assert run(str(repo)) == (
        0,
        "ENVIRONMENT  SERVER                       CREDENTIALS  AFTER\n"
        "dev          https://dev.example.com      DEV_*        -\n"
        "staging      https://staging.example.com  STAGING_*    dev\n"
        "production   https://clm.example.com      PROD_*       staging\n"
        "sandbox      https://sandbox.example.com  CERTGOV_*    -\n",
        "",
    )


@pytest.mark.parametrize(
    ("environments", "problem"),
    [
        (
            "  staging: {server: https://s.example.com}\n"
            "  production:\n"
            "    server: https://p.example.com\n"
            "    rollout: {after: stagign}\n",
            "{repo}/certgov.yaml:7:22: environments.production.rollout.after: unknown environment "
            "'stagign'; certgov.yaml declares staging, production",
        ),
        (
            "  staging:\n"
            "    server: https://s.example.com\n"
            "    rollout: {after: production}\n"
            "  production:\n"
            "    server: https://p.example.com\n"
            "    rollout: {after: staging}\n",
            "{repo}/certgov.yaml:6:22: environments.staging.rollout.after: rollout.after makes a cycle "
            "(staging → production → staging): promotions would wait for each other forever",
        ),
        (
            "  staging: {server: https://s.example.com, credentials_env: STAGING-}\n",
            "{repo}/certgov.yaml:4:61: environments.staging.credentials_env: 'STAGING-' does not match "
            "'^[A-Za-z_][A-Za-z0-9_]*$'",
        ),
    ],
    ids=["unknown after", "cycle", "bad prefix"],
)
def test_a_bad_certgov_yaml_is_refused_at_its_line(
    tmp_path: Path, environments: str, problem: str
) -> None:
    repo = write_repo(tmp_path / "repo", {}, config=f"{HEAD}environments:\n{environments}")

    code, out, err = run(str(repo))

    expected = f"error: 1 problem in the declarations\n  {problem.format(repo=repo)}\n"
    assert (code, out, err) == (1, "", expected)


def test_a_folder_without_certgov_yaml_is_refused(tmp_path: Path) -> None:
    code, out, err = run(str(tmp_path))

    assert (code, out, err.splitlines()[0]) == (1, "", "error: 1 problem in the declarations")
    assert "no certgov.yaml in" in err


def test_an_unknown_format_is_a_usage_error() -> None:
    code, _, err = run(str(QUICKSTART), "--format", "yaml")

    assert (code, err.splitlines()[-1]) == (
        1,
        "Error: Invalid value for '--format': 'yaml' is not one of 'text', 'json'.",
    )
