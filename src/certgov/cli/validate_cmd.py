"""`certgov validate`: load the declarations offline and say whether they are valid."""

from __future__ import annotations

import json
from typing import Any

import click

from certgov.declarations import Declarations, load
from certgov.declarations.warnings import warnings
from certgov.errors import DeclarationError, Problem
from certgov.state import POLICY, SERVICE_ACCOUNT


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


def summary(declarations: Declarations) -> str:
    """`ok: 3 service accounts, 3 policies`."""
    state = declarations.state
    accounts = _count(len(state.of_kind(SERVICE_ACCOUNT)), "service account", "service accounts")
    policies = _count(len(state.of_kind(POLICY)), "policy", "policies")
    return f"ok: {accounts}, {policies}"


def _problem_json(problem: Problem) -> dict[str, Any]:
    pos = problem.position
    return {
        "file": pos.file if pos else None,
        "line": pos.line if pos and pos.line else None,
        "col": pos.col if pos and pos.line else None,
        "field": problem.field,
        "message": problem.message,
    }


def _success_json(declarations: Declarations) -> dict[str, Any]:
    state = declarations.state
    return {
        "valid": True,
        "counts": {
            SERVICE_ACCOUNT: len(state.of_kind(SERVICE_ACCOUNT)),
            POLICY: len(state.of_kind(POLICY)),
        },
        "files": list(declarations.files),
        "digest": declarations.digest,
        "git_commit": declarations.git_commit,
        "problems": [],
        "warnings": list(warnings(declarations)),
    }


@click.command()
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=str))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for machines.",
)
@click.option("--ref", default=None, help="Validate the tree at this git ref, without checkout.")
@click.pass_context
def validate(ctx: click.Context, path: str, output_format: str, ref: str | None) -> None:
    """Check the declarations under PATH offline; print every problem, exit 1 if any."""
    if output_format == "text":
        # Problems go through the CLI's one error boundary, which prints each with its position.
        declarations = load(path, ref=ref)
        click.echo(summary(declarations))
        for warning in warnings(declarations):
            click.echo(f"warning: {warning}", err=True)
        return
    try:
        declarations = load(path, ref=ref)
    except DeclarationError as exc:
        document = {
            "valid": False,
            "counts": None,
            "files": None,
            "digest": None,
            "git_commit": None,
            "problems": [_problem_json(p) for p in exc.problems],
            "warnings": [],
        }
        click.echo(json.dumps(document, indent=2))
        ctx.exit(1)
    click.echo(json.dumps(_success_json(declarations), indent=2))
