"""`certgov plan`: what apply would change, proven by the dry run."""

from __future__ import annotations

import click

from certgov.cli.api_options import F, api_options, open_client
from certgov.cli.output import stdout, use_color, write_private
from certgov.errors import EXIT_CHANGES, PolicyTestsFailedError, UsageError
from certgov.plan.document import dumps
from certgov.policytest import report_lines
from certgov.render import jsonplan, markdown, text
from certgov.state import KINDS


def parse_targets(targets: tuple[str, ...]) -> tuple[str, ...]:
    for target in targets:
        kind, _, name = target.partition("/")
        if kind not in KINDS or not name:
            raise UsageError(
                f"--target {target!r}: expected KIND/NAME with KIND one of {', '.join(KINDS)}"
            )
    return targets


def planning_options(command: F) -> F:
    """The options of every command that makes a plan (plan, and apply without a plan file)."""
    for option in reversed(
        (
            click.option(
                "--target",
                "targets",
                multiple=True,
                metavar="KIND/NAME",
                help="Plan only these objects.",
            ),
            click.option(
                "--allow-mass-change",
                is_flag=True,
                help="Allow disabling or deleting many objects.",
            ),
            click.option(
                "--backtest-days",
                type=click.IntRange(0, 365),
                default=14,
                show_default=True,
                help="Replay this many days of certificate requests against changed policies "
                "(0: off).",
            ),
            click.option("--no-color", is_flag=True, help="No colour, even on a terminal."),
            api_options,
        )
    ):
        command = option(command)
    return command


@click.command("plan")
@click.argument("path", default=".", type=click.Path(file_okay=False))
@click.option(
    "--out", "out_file", type=click.Path(dir_okay=False), help="Write the plan document here."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
)
@click.option(
    "--details-url", metavar="URL", help="Where the full plan is (markdown: when cut to fit)."
)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when the plan has changes.")
@planning_options
def plan_command(
    path: str,
    out_file: str | None,
    fmt: str,
    details_url: str | None,
    detailed_exitcode: bool,
    targets: tuple[str, ...],
    allow_mass_change: bool,
    backtest_days: int,
    no_color: bool,
    url: str | None,
    credentials: str | None,
    parallelism: int,
) -> None:
    """Show what apply would change in the live tenant to match the declarations at PATH."""
    from certgov.run.plan import plan_folder

    run = plan_folder(
        path,
        lambda server: open_client(url, credentials, server, parallelism),
        allow_mass_change=allow_mass_change,
        targets=parse_targets(targets),
        backtest_days=backtest_days,
    )
    if out_file:
        write_private(out_file, dumps(run.document))
    out = stdout()
    if fmt == "json":
        jsonplan.render(run.document, out)
    elif fmt == "markdown":
        from certgov.gitops.markers import plan_marker

        markdown.render(run.document, out, marker=plan_marker(path), details_url=details_url)
    else:
        text.render(run.document, out, color=use_color(out, no_color))
    if run.failed_tests:
        for line in report_lines(run.failed_tests, include_passed=False):
            click.echo(line, err=True)
        raise PolicyTestsFailedError.counted(len(run.failed_tests))
    if detailed_exitcode and run.document.has_changes:
        click.get_current_context().exit(EXIT_CHANGES)
