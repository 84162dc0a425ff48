"""`certgov apply`: execute a reviewed plan file, or plan, confirm and execute that plan."""

from __future__ import annotations

import sys
import threading
from typing import Any

import click

from certgov.apply.result import NOT_STARTED, ApplyResult, Outcome
from certgov.cli.api_options import connector
from certgov.cli.notify_option import notify_option, send
from certgov.cli.output import aligned, stdout, use_color
from certgov.cli.plan_cmd import planning, planning_options
from certgov.errors import ApplyFailedError, ApplyInterruptedError
from certgov.plan.document import PlanDocument, dumps
from certgov.policytest import report_lines
from certgov.render import text
from certgov.run.plan import PlanRun


def _outcome_line(outcome: Outcome) -> str:
    if outcome.status == "applied":
        return f"{outcome.address}: {outcome.message}"
    return f"{outcome.address}: {outcome.action} {outcome.status.upper()}: {outcome.message}"


class _Hooks:
    """What apply shows and asks on the terminal; with --format json, progress goes to stderr.

    On a terminal, progress is a bar (failures still get a line each); elsewhere (CI logs), a
    plain line per change.
    """

    def __init__(self, fmt: str, color: bool) -> None:
        self.fmt = fmt
        self.color = color
        self.progress_err = fmt == "json"
        self.stream = sys.stderr if self.progress_err else sys.stdout
        self.tty = self.stream.isatty()
        self.bar: Any = None
        self.lock = threading.Lock()

    def starting(self, total: int) -> None:
        if self.tty and total > 1:
            self.bar = click.progressbar(
                length=total,
                label="Applying",
                show_pos=True,
                item_show_func=lambda o: o.address if o is not None else None,
                file=self.stream,
            )
            self.bar.__enter__()

    def finished(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def planned(self, run: PlanRun) -> None:
        if self.fmt == "text":
            text.render(run.document, stdout(), color=self.color)
        for line in report_lines(run.failed_tests, include_passed=False):
            click.echo(line, err=True)

    def confirm(self, document: PlanDocument) -> bool:
        click.echo("Only 'yes' will be accepted to approve.", err=self.progress_err)
        try:
            answer = click.prompt(
                "Apply these changes?", default="", show_default=False, err=self.progress_err
            )
        except click.Abort as exc:
            if isinstance(exc.__context__, EOFError):
                return False  # no one to answer (stdin closed): not a yes
            raise KeyboardInterrupt from None
        return bool(answer.strip() == "yes")

    def outcome(self, outcome: Outcome) -> None:
        with self.lock:
            if self.bar is None:
                click.echo(_outcome_line(outcome), err=self.progress_err)
                return
            if outcome.status != "applied":
                click.echo(f"\n{_outcome_line(outcome)}", err=True)
            self.bar.update(1, outcome)

    def stopping(self) -> None:
        click.echo(
            "interrupted: changes under way finish, no new one starts (Ctrl-C again to quit now)",
            err=True,
        )


def _notify(urls: tuple[str, ...], result: ApplyResult, *, interrupted: bool = False) -> None:
    if not result.outcomes and not interrupted:
        return  # nothing was applied: nothing to tell
    summary = f"certgov apply on {result.target}: " + result.summary_line().removeprefix(
        "Apply complete: "
    )
    if interrupted:
        summary += " (interrupted)"
    document = {**result.to_json(), "target": result.target, "interrupted": interrupted}
    send(urls, "apply", document, summary)


def _table(outcomes: list[Outcome]) -> list[str]:
    rows = [("ADDRESS", "ACTION", "STATUS")] + [
        (o.address, o.action, "not started" if o.message == NOT_STARTED else o.status)
        for o in outcomes
    ]
    return aligned(rows)


@click.command("apply")
@click.argument("target_path", default=".", type=click.Path(exists=True), metavar="[PLANFILE|PATH]")
@click.option("--auto-approve", is_flag=True, help="Apply without asking for 'yes'.")
@click.option(
    "--auto-promote",
    is_flag=True,
    help="Apply only the rollout promotions a fresh plan finds, without asking; "
    "everything else waits for review.",
)
@click.option(
    "--ignore-source", is_flag=True, help="Apply a plan file even if the declarations changed."
)
@click.option(
    "--expect-plan",
    type=click.Path(dir_okay=False, exists=True),
    help="Refuse unless the changes equal this reviewed plan file's; print how they differ.",
)
@click.option(
    "--expect-fingerprint", metavar="SHA256", help="Refuse unless the plan has this fingerprint."
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@notify_option
@planning_options
def apply_command(
    target_path: str,
    auto_approve: bool,
    auto_promote: bool,
    ignore_source: bool,
    expect_plan: str | None,
    expect_fingerprint: str | None,
    fmt: str,
    notify_urls: tuple[str, ...],
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
    """Apply PLANFILE exactly, or plan PATH, show the plan, ask, and apply exactly that."""
    from certgov.run.apply import ApplyOptions, apply

    options = ApplyOptions(
        auto_approve=auto_approve,
        auto_promote=auto_promote,
        ignore_source=ignore_source,
        expect_plan=expect_plan,
        expect_fingerprint=expect_fingerprint,
        planning=planning(targets, allow_mass_change, rotate_missing, backtest_days, backtest_max),
        environment=env,
    )
    out = stdout()
    hooks = _Hooks(fmt, use_color(out, no_color))
    try:
        result = apply(target_path, options, connector(url, credentials, parallelism, env), hooks)
    except ApplyInterruptedError as exc:
        for line in _table(list(exc.result.outcomes)):
            click.echo(line, err=True)
        _notify(notify_urls, exc.result, interrupted=True)
        raise
    _notify(notify_urls, result)
    if fmt == "json":
        click.echo(dumps(result.to_json()), nl=False)
    if not result.outcomes:
        if fmt == "text":
            click.echo("Nothing to apply.")
        return
    if result.failed:
        for line in _table(result.failed):
            click.echo(line, err=True)
        click.echo(result.summary_line(), err=True)
        raise ApplyFailedError(
            f"{len(result.failed)} change(s) did not apply; run `certgov plan` to see what remains"
        )
    if fmt == "text":
        click.echo(result.summary_line())
