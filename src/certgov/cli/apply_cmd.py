"""`certgov apply`: execute a reviewed plan file, or plan, confirm and execute that plan."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from certgov.cli.api_options import open_client
from certgov.cli.output import stdout, use_color
from certgov.cli.plan_cmd import parse_targets, planning_options
from certgov.errors import CertgovError, UsageError
from certgov.plan.document import dumps, load_plan_file
from certgov.policytest import PolicyTestsFailedError, report_lines
from certgov.render import text

SESSION_MARGIN = timedelta(minutes=10)


class SourceChangedError(CertgovError):
    """The declarations on disk are not the ones the plan was made from."""


def check_expected(
    document: Mapping[str, Any], fingerprint: str | None, reviewed_file: str | None
) -> None:
    """Refuse a plan whose changes are not the reviewed ones (a plan's fingerprint, or its
    changes_fingerprint, which survives a re-plan at the merged commit)."""
    from certgov.plan.compare import compare_changes

    reviewed = load_plan_file(reviewed_file) if reviewed_file else None
    wanted = [fingerprint] if fingerprint else []
    if reviewed is not None:
        wanted.append(reviewed["changes_fingerprint"])
    for expected in wanted:
        if expected not in (document["fingerprint"], document["changes_fingerprint"]):
            lines = compare_changes(reviewed["changes"], document["changes"]) if reviewed else []
            detail = "".join(f"\n  {line}" for line in lines)
            raise CertgovError(
                f"the plan's changes ({document['changes_fingerprint']}) are not the reviewed "
                f"ones ({expected}); nothing was applied{detail}"
            )


def _outcome_line(outcome: Any) -> str:
    if outcome.status == "applied":
        return f"{outcome.address}: {outcome.message}"
    return f"{outcome.address}: {outcome.action} {outcome.status.upper()}: {outcome.message}"


def _table(outcomes: list[Any]) -> list[str]:
    rows = [("ADDRESS", "ACTION", "STATUS")] + [(o.address, o.action, o.status) for o in outcomes]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]


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
@planning_options
def apply_command(
    target_path: str,
    auto_approve: bool,
    auto_promote: bool,
    ignore_source: bool,
    expect_plan: str | None,
    expect_fingerprint: str | None,
    fmt: str,
    targets: tuple[str, ...],
    allow_mass_change: bool,
    backtest_days: int,
    no_color: bool,
    url: str | None,
    credentials: str | None,
    parallelism: int,
) -> None:
    """Apply PLANFILE exactly, or plan PATH, show the plan, ask, and apply exactly that."""
    from certgov.apply.executor import ApplyFailedError, ApplyResult, Executor, check_fresh
    from certgov.client.live import read_live_state
    from certgov.declarations import load
    from certgov.workflow import make_plan, open_stores

    out = stdout()
    progress_err = fmt == "json"
    plan_file = Path(target_path).is_file()
    if plan_file:
        if targets or allow_mass_change or auto_promote:
            raise UsageError(
                "--target, --allow-mass-change and --auto-promote belong to planning, "
                "not to a plan file"
            )
        document = load_plan_file(target_path)
        decls = load(document["source"]["path"])
        if decls.digest != document["source"]["digest"] and not ignore_source:
            raise SourceChangedError(
                f"the declarations at {document['source']['path']} changed since the plan was "
                "made; make a new plan, or pass --ignore-source to apply it anyway"
            )
    else:
        decls = load(target_path)
        parse_targets(targets)
    with (
        open_stores(decls) as stores,
        open_client(url, credentials, decls.config.server, parallelism) as client,
    ):
        if not plan_file:
            run = make_plan(
                decls,
                client,
                stores,
                server=client.server,
                source_path=target_path,
                allow_mass_change=allow_mass_change,
                targets=targets,
                backtest_days=backtest_days,
                only_actions=("promote",) if auto_promote else (),
            )
            document = run.document
            if fmt == "text":
                text.render(document, out, color=use_color(out, no_color))
            if run.failed_tests:
                for line in report_lines(run.failed_tests, include_passed=False):
                    click.echo(line, err=True)
                raise PolicyTestsFailedError(len(run.failed_tests))
        check_expected(document, expect_fingerprint, expect_plan)
        if not document["changes"]:
            if fmt == "json":
                click.echo(dumps(ApplyResult(document["fingerprint"], ()).to_json()), nl=False)
            else:
                click.echo("Nothing to apply.")
            return
        if not plan_file and not (auto_approve or auto_promote):
            click.echo("Only 'yes' will be accepted to approve.", err=progress_err)
            answer = click.prompt(
                "Apply these changes?", default="", show_default=False, err=progress_err
            )
            if answer.strip() != "yes":
                raise CertgovError("apply cancelled: the answer was not 'yes'; nothing was changed")
        client.ensure_session(SESSION_MARGIN)
        current = check_fresh(document, read_live_state(client))
        executor = Executor(
            client,
            stores,
            document=document,
            current=current,
            desired=decls.state,
            root=decls.root,
            server_url=client.server,
            parallelism=client.parallelism,
            emit=lambda outcome: click.echo(_outcome_line(outcome), err=progress_err),
        )
        result = executor.run()
    if fmt == "json":
        click.echo(dumps(result.to_json()), nl=False)
    if result.failed:
        for line in _table(result.failed):
            click.echo(line, err=True)
        click.echo(result.summary_line(), err=True)
        raise ApplyFailedError(
            f"{len(result.failed)} change(s) did not apply; run `certgov plan` to see what remains"
        )
    if fmt == "text":
        click.echo(result.summary_line())
