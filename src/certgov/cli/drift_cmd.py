"""`certgov drift`: pending changes, out-of-band changes and hygiene findings, separately."""

from __future__ import annotations

import json
from datetime import timedelta

import click

from certgov.cli.api_options import api_options, connector, env_option
from certgov.errors import UsageError


def _window(text: str) -> timedelta:
    from certgov.declarations.durations import parse_duration

    try:
        return timedelta(seconds=parse_duration(text))
    except ValueError:
        raise UsageError(f"--window {text!r}: expected a duration such as 24h or 7d") from None


@click.command("drift")
@click.argument("path", default=".", type=click.Path(file_okay=False))
@click.option(
    "--applied-ref", default="origin/main", show_default=True, help="The git ref last applied."
)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text")
@click.option(
    "--window",
    default="24h",
    show_default=True,
    help="How far back to look for authentication failures.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["note", "warning", "error"]),
    default=None,
    help="Add 8 to the exit code when a hygiene finding reaches this level.",
)
@click.option(
    "--issue",
    "issue_repo",
    metavar="OWNER/NAME",
    help="Open or update one GitHub issue with the report; close it when clean.",
)
@api_options
@env_option
def drift_command(
    path: str,
    applied_ref: str,
    fmt: str,
    window: str,
    fail_on: str | None,
    issue_repo: str | None,
    url: str | None,
    credentials: str | None,
    parallelism: int,
    env: str | None,
) -> None:
    """Report drift. Exit 0 none, 2 pending, 4 out of band, 6 both, +8 hygiene (--fail-on)."""
    from certgov.gitops.markers import drift_marker
    from certgov.render.drift import render_markdown, render_text
    from certgov.run.drift import detect_drift

    report = detect_drift(
        path,
        applied_ref,
        _window(window),
        connector(url, credentials, parallelism, env),
        env,
    )
    document = report.to_json(fail_on)
    marker = drift_marker(path)
    if fmt == "json":
        click.echo(json.dumps(document, indent=2))
    elif fmt == "markdown":
        click.echo(render_markdown(document, marker=marker), nl=False)
    else:
        click.echo(render_text(document), nl=False)
    if issue_repo:
        from certgov.gitops.github import GitHubClient

        with GitHubClient.from_env() as github:
            if report.clean:
                github.close_issue_if_open(issue_repo, marker, "No drift any more: closing.")
            else:
                github.upsert_issue(
                    issue_repo, "certgov drift", render_markdown(document, marker=marker), marker
                )
    click.get_current_context().exit(document["exit_code"])
