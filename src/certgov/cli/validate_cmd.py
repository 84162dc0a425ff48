"""`certgov validate`: load the declarations offline and say whether they are valid."""

from __future__ import annotations

import json
from typing import Any

import click

from certgov.cli.api_options import env_option
from certgov.declarations import Declarations, load, load_each
from certgov.declarations.warnings import warnings
from certgov.errors import DeclarationError, Problem
from certgov.state import POLICY, SERVICE_ACCOUNT


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


def summary(declarations: Declarations) -> str:
    """`ok: 3 service accounts, 3 policies` (`ok: staging: …` in an environment)."""
    state = declarations.state
    accounts = _count(len(state.of_kind(SERVICE_ACCOUNT)), "service account", "service accounts")
    policies = _count(len(state.of_kind(POLICY)), "policy", "policies")
    env = f"{declarations.environment}: " if declarations.environment else ""
    return f"ok: {env}{accounts}, {policies}"


def _counts(declarations: Declarations) -> dict[str, int]:
    state = declarations.state
    return {kind: len(state.of_kind(kind)) for kind in (SERVICE_ACCOUNT, POLICY)}


def _warnings(loaded: list[Declarations]) -> list[str]:
    return list(dict.fromkeys(w for d in loaded for w in warnings(d)))


def _problem_json(problem: Problem) -> dict[str, Any]:
    pos = problem.position
    return {
        "file": pos.file if pos else None,
        "line": pos.line if pos and pos.line else None,
        "col": pos.col if pos and pos.line else None,
        "field": problem.field,
        "message": problem.message,
    }


def _success_json(loaded: list[Declarations]) -> dict[str, Any]:
    """Counts by kind; with environments, counts by kind in each environment."""
    first = loaded[0]
    counts: dict[str, Any] = _counts(first)
    if first.environment is not None:
        counts = {str(d.environment): _counts(d) for d in loaded}
    return {
        "valid": True,
        "counts": counts,
        "files": list(first.files),
        "digest": first.digest,
        "git_commit": first.git_commit,
        "problems": [],
        "warnings": _warnings(loaded),
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
@env_option
@click.pass_context
def validate(
    ctx: click.Context, path: str, output_format: str, ref: str | None, env: str | None
) -> None:
    """Check the declarations under PATH offline; print every problem, exit 1 if any.

    With environments and no --env, every environment is checked."""

    def loaded() -> list[Declarations]:
        return [load(path, ref=ref, environment=env)] if env else load_each(path, ref=ref)

    if output_format == "text":
        # Problems go through the CLI's one error boundary, which prints each with its position.
        every = loaded()
        for declarations in every:
            click.echo(summary(declarations))
        for warning in _warnings(every):
            click.echo(f"warning: {warning}", err=True)
        return
    try:
        every = loaded()
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
    click.echo(json.dumps(_success_json(every), indent=2))
