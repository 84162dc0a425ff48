"""`certgov plan`: what apply would change, proven by the dry run."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import click

from certgov.cli.api_options import F, api_options, connector, env_option
from certgov.cli.output import stdout, use_color, write_private
from certgov.errors import (
    EXIT_CHANGES,
    CertgovError,
    PartialPlanError,
    PolicyTestsFailedError,
    UsageError,
)
from certgov.plan.document import PlanDocument, dumps
from certgov.policytest import report_lines
from certgov.render import jsonplan, markdown, text
from certgov.render.markdown import COMMENT_LIMIT
from certgov.run.backtest import DEFAULT_MAX_REQUESTS
from certgov.run.plan import Planning
from certgov.state import KINDS


def parse_targets(targets: tuple[str, ...]) -> tuple[str, ...]:
    for target in targets:
        kind, _, name = target.partition("/")
        if kind not in KINDS or not name:
            raise UsageError(
                f"--target {target!r}: expected KIND/NAME with KIND one of {', '.join(KINDS)}"
            )
    return targets


def duration_option(name: str, text: str) -> timedelta:
    """A duration option (`24h`, `7d`), or a usage error naming the option."""
    from certgov.declarations.durations import parse_duration

    try:
        return timedelta(seconds=parse_duration(text))
    except ValueError:
        raise UsageError(f"{name} {text!r}: expected a duration such as 24h or 7d") from None


def planning(
    targets: tuple[str, ...],
    allow_mass_change: bool,
    rotate_missing: bool,
    backtest_days: int,
    backtest_max: int = DEFAULT_MAX_REQUESTS,
) -> Planning:
    """The planning options, checked."""
    return Planning(
        targets=parse_targets(targets),
        allow_mass_change=allow_mass_change,
        backtest_days=backtest_days,
        backtest_max=backtest_max,
        rotate_missing=rotate_missing,
    )


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
                "--rotate-missing",
                is_flag=True,
                help="Rotate the secrets the store holds no record of (this cuts off whoever "
                "uses them; `certgov secret adopt` stores a secret in use instead).",
            ),
            click.option(
                "--backtest-days",
                type=click.IntRange(0, 365),
                default=14,
                show_default=True,
                help="Replay this many days of certificate requests against changed policies "
                "(0: off).",
            ),
            click.option(
                "--backtest-max",
                type=click.IntRange(1, 1_000_000),
                default=DEFAULT_MAX_REQUESTS,
                show_default=True,
                help="Read at most this many recent certificate requests for back-testing.",
            ),
            click.option("--no-color", is_flag=True, help="No colour, even on a terminal."),
            api_options,
            env_option,
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
@click.option(
    "--max-chars",
    type=click.IntRange(min=1),
    default=COMMENT_LIMIT,
    show_default=True,
    metavar="N",
    help="markdown: at most N characters, change details left out from the end to fit "
    "(GitHub's comment limit; for a comment of several plans, its share).",
)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when the plan has changes.")
@click.option(
    "--snapshot",
    "snapshot",
    type=click.Path(dir_okay=False, exists=True),
    help="Compare the kinds this account cannot read (service accounts, for a read account) "
    "with this snapshot (certgov snapshot) instead of leaving them out.",
)
@click.option(
    "--max-snapshot-age",
    default="24h",
    show_default=True,
    metavar="DURATION",
    help="Refuse a snapshot older than this.",
)
@click.option(
    "--allow-partial",
    is_flag=True,
    help="Exit 0 (or 2) for a plan that could not compare every managed kind; it stays marked "
    "partial, and apply refuses it.",
)
@planning_options
def plan_command(
    path: str,
    out_file: str | None,
    fmt: str,
    details_url: str | None,
    max_chars: int,
    detailed_exitcode: bool,
    snapshot: str | None,
    max_snapshot_age: str,
    allow_partial: bool,
    targets: tuple[str, ...],
    allow_mass_change: bool,
    rotate_missing: bool,
    backtest_days: int,
    backtest_max: int,
    no_color: bool,
    url: str | None,
    credentials: str | None,
    parallelism: int,
    env: str | None,
) -> None:
    """Show what apply would change in the live tenant to match the declarations at PATH."""
    from certgov.run.plan import plan_folder

    how = replace(
        planning(targets, allow_mass_change, rotate_missing, backtest_days, backtest_max),
        snapshot=snapshot,
        max_snapshot_age=duration_option("--max-snapshot-age", max_snapshot_age),
    )
    if out_file:
        # Whatever happens next, a workflow must not find (and upload) an older plan here.
        Path(out_file).unlink(missing_ok=True)
    try:
        run = plan_folder(path, connector(url, credentials, parallelism, env), how, env)
        _render(run.document, fmt, path, details_url, max_chars, no_color)
        if run.failed_tests:
            for line in report_lines(run.failed_tests, include_passed=False):
                click.echo(line, err=True)
            raise PolicyTestsFailedError.counted(len(run.failed_tests))
        if run.document.partial and not allow_partial:
            raise PartialPlanError(partial_message(run.document))
    except CertgovError as exc:
        if out_file:
            exc.message += f"; the plan was not written to {out_file}"
        raise
    if out_file:
        write_private(out_file, dumps(run.document))
    if detailed_exitcode and run.document.has_changes:
        click.get_current_context().exit(EXIT_CHANGES)


def partial_message(document: PlanDocument) -> str:
    kinds = ", ".join(document.not_planned)
    return (
        f"the plan is partial: {kinds} not compared (see the banner); pass --allow-partial to "
        "accept a plan that cannot show their changes"
    )


def _render(
    document: PlanDocument,
    fmt: str,
    path: str,
    details_url: str | None,
    max_chars: int,
    no_color: bool,
) -> None:
    out = stdout()
    if fmt == "json":
        jsonplan.render(document, out)
    elif fmt == "markdown":
        from certgov.gitops.markers import plan_marker

        markdown.render(
            document, out, marker=plan_marker(path), details_url=details_url, limit=max_chars
        )
    else:
        text.render(document, out, color=use_color(out, no_color))
