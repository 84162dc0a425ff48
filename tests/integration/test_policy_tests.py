"""`certgov test` against the real server's dry run, offline, and JUnit output."""

from __future__ import annotations

from pathlib import Path

import xmlschema
from click.testing import CliRunner

from certgov.cli import cli
from tests.integration.conftest import LiveServer, copy_example

CASES = Path(__file__).parent / "cases"
JUNIT_XSD = Path(__file__).parents[1] / "policytest" / "schemas" / "junit.xsd"

FAILING_REPORT = """\
FAIL Policy/Web: a small key is refused (policies/web.yaml:14)
     expected block, got warn
     soft enforce_minimum_key_size: RSA key 2048 bits is below the minimum of 3072
PASS Policy/Web: a compliant request passes
FAIL Policy/Web: a request without SANs is refused for the key too (policies/web.yaml:26)
     expected violations [require_san], got [enforce_minimum_key_size, require_san]
     soft enforce_minimum_key_size: RSA key 2048 bits is below the minimum of 3072
     hard require_san: the request has no SAN; at least one is required
1 passed, 2 failed
"""


def test_quickstart_tests_pass_on_the_server(live: LiveServer, tmp_path: Path) -> None:
    repo = copy_example("quickstart", tmp_path)
    result = live.cli("test", str(repo))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "10 passed, 0 failed"


def test_offline_and_server_results_agree(live: LiveServer, tmp_path: Path) -> None:
    repo = copy_example("quickstart", tmp_path)
    online = live.cli("test", str(repo), "--format", "json")
    offline = CliRunner().invoke(cli, ["test", str(repo), "--format", "json", "--offline"])
    assert online.exit_code == offline.exit_code == 0
    assert online.stdout == offline.stdout


def test_failing_expectations_are_reported_whole(live: LiveServer, tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    result = live.cli("test", str(CASES / "failing-tests"), "--junit", str(junit))
    assert result.exit_code == 1
    assert result.stdout == FAILING_REPORT
    assert result.stderr == "error: 2 policy tests failed\n"
    schema = xmlschema.XMLSchema(JUNIT_XSD)
    schema.validate(junit)
    document = schema.to_dict(junit)
    (suite,) = document["testsuite"]
    assert (suite["@name"], suite["@tests"], suite["@failures"]) == ("Web", 3, 2)
    failure = suite["testcase"][0]["failure"][0]
    assert failure["$"].splitlines()[0] == "policies/web.yaml:14: expected block, got warn"
