"""`certgov test`: every policy's tests through the dry run (or the engine, offline)."""

from __future__ import annotations

import json

import click

from certgov.cli.api_options import api_options, connector, env_option
from certgov.cli.output import write_private
from certgov.errors import PolicyTestsFailedError
from certgov.policytest import PolicyTestResult, report_lines
from certgov.render import junit


def summary_line(results: list[PolicyTestResult]) -> str:
    failed = sum(1 for r in results if not r.passed)
    return f"{len(results) - failed} passed, {failed} failed"


@click.command("test")
@click.argument("path", default=".", type=click.Path(file_okay=False))
@click.option("--junit", "junit_file", type=click.Path(dir_okay=False), help="Write JUnit XML.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--policy", "policies", multiple=True, metavar="NAME", help="Only these policies.")
@click.option("--offline", is_flag=True, help="Evaluate in-process with the rule engine.")
@api_options
@env_option
def test_command(
    path: str,
    junit_file: str | None,
    fmt: str,
    policies: tuple[str, ...],
    offline: bool,
    url: str | None,
    credentials: str | None,
    parallelism: int,
    env: str | None,
) -> None:
    """Run each policy's declared tests through the dry-run validate endpoint."""
    from certgov.run.policytests import run_policy_tests

    connect = None if offline else connector(url, credentials, parallelism, env)
    results = run_policy_tests(path, policies, connect, env)
    documents = [r.to_json() for r in results]
    if junit_file:
        write_private(junit_file, junit.render_text(documents))
    if fmt == "json":
        failed = sum(1 for r in results if not r.passed)
        summary = {"passed": len(results) - failed, "failed": failed}
        click.echo(json.dumps({"summary": summary, "results": documents}, indent=2))
    else:
        for line in report_lines(results):
            click.echo(line)
        click.echo(summary_line(results))
    failed_count = sum(1 for r in results if not r.passed)
    if failed_count:
        raise PolicyTestsFailedError.counted(failed_count)
