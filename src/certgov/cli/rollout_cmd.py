"""`certgov rollout status`: where each soft-to-hard rollout stands, from the audit log."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import click

from certgov.cli.api_options import api_options, connector, env_option
from certgov.cli.output import aligned

HEADERS = ("POLICY", "RULE", "STATE", "DAYS", "REQUESTS", "WARNINGS", "DETAIL")
STATE_LABELS = {
    "pending": "pending (not yet soft)",
    "hold": "soft",
    "blocked": "blocked",
    "promote": "ready to promote",
    "promoted": "promoted",
}


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def status_table(decisions: Sequence[Mapping[str, Any]]) -> list[str]:
    rows = [HEADERS] + [
        (
            d["policy"],
            d["rule"],
            STATE_LABELS[d["state"]]
            + (
                f" since {d['soft_since'][:10]}" if d["soft_since"] and d["state"] == "hold" else ""
            ),
            _cell(d["days"]),
            _cell(d["requests"]),
            _cell(d["warnings"]),
            d["detail"] + (f" ({', '.join(d['offenders'])})" if d["offenders"] else ""),
        )
        for d in decisions
    ]
    return aligned(rows)


@click.group("rollout")
def rollout() -> None:
    """Soft-to-hard rollouts of policy rules."""


@rollout.command("status")
@click.argument("path", default=".", type=click.Path(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@api_options
@env_option
def status(
    path: str,
    fmt: str,
    url: str | None,
    credentials: str | None,
    parallelism: int,
    env: str | None,
) -> None:
    """One row per rollout rule: state, days soft, requests, warnings and what is left."""
    from certgov.run.rollout import rollout_status

    found = rollout_status(path, connector(url, credentials, parallelism, env), env)
    decisions = [d.to_json() for d in found.decisions]
    if fmt == "json":
        gate = {"after": found.after} if found.after else {}
        document = {"rollout": decisions, "warnings": list(found.warnings), **gate}
        click.echo(json.dumps(document, indent=2))
        return
    for warning in found.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not decisions:
        click.echo("No rule declares a rollout.")
        return
    if found.after:
        click.echo(
            f"Gate: a rule is promoted here only once the same rule has been hard in "
            f"{found.after} for its promote_after."
        )
    for line in status_table(decisions):
        click.echo(line.rstrip())
