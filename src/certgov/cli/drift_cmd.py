"""`certgov drift`: pending changes, out-of-band changes and hygiene findings, separately."""

from __future__ import annotations

import json

import click

from certgov.cli.api_options import api_options, connector, env_option
from certgov.cli.notify_option import notify_option, send
from certgov.cli.plan_cmd import duration_option


@click.command("drift")
@click.argument("path", default=".", type=click.Path(file_okay=False))
@click.option(
    "--applied-ref",
    default=None,
    metavar="REF",
    help="The git ref last applied [default: the upstream of the checked-out branch, e.g. "
    "origin/main in a CI clone; else HEAD].",
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
@notify_option
@api_options
@env_option
def drift_command(
    path: str,
    applied_ref: str | None,
    fmt: str,
    window: str,
    fail_on: str | None,
    issue_repo: str | None,
    notify_urls: tuple[str, ...],
    url: str | None,
    credentials: str | None,
    parallelism: int,
    env: str | None,
) -> None:
    """Report drift. Exit 0 none, 2 pending, 4 out of band, 6 both, +8 hygiene (--fail-on).

    With --issue, one issue per folder and environment ("certgov drift: NAME")."""
    from certgov.gitops.markers import drift_marker
    from certgov.render.drift import render_markdown, render_text
    from certgov.run.drift import detect_drift

    report = detect_drift(
        path,
        applied_ref,
        duration_option("--window", window),
        connector(url, credentials, parallelism, env),
        env,
    )
    document = report.to_json(fail_on)
    marker = drift_marker(path, report.environment)
    title = f"certgov drift: {report.environment}" if report.environment else "certgov drift"
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
                    issue_repo, title, render_markdown(document, marker=marker), marker
                )
    send(notify_urls, "drift", document, report.summary())
    click.get_current_context().exit(document["exit_code"])
