"""`certgov environments`: the targets of a repository, in the order to apply them.

One entry per environment of certgov.yaml, each after the one its rollouts wait for; without
environments, one entry for the one target (`name` null). The JSON form is a list a workflow can
take as its matrix (`include: ${{ fromJSON(...) }}`): each entry carries what a job needs to
pick its credentials, including those of the environment it waits for (its rollout gate).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

from certgov.cli.output import aligned
from certgov.declarations import load_config, load_environments
from certgov.declarations.environments import DEFAULT_CREDENTIALS_ENV

HEADERS = ("ENVIRONMENT", "SERVER", "CREDENTIALS", "AFTER")


def entries(path: str) -> list[dict[str, Any]]:
    """The repository's targets as matrix entries, in the order to apply them."""
    environments = load_environments(path)
    if not environments:
        return [_entry(None, load_config(path).server, DEFAULT_CREDENTIALS_ENV, None, None)]
    prefixes = {env.name: env.credentials_env for env in environments}
    return [
        _entry(env.name, env.server, env.credentials_env, env.after, prefixes.get(env.after or ""))
        for env in environments
    ]


def _entry(
    name: str | None,
    server: str | None,
    credentials_env: str,
    after: str | None,
    after_credentials_env: str | None,
) -> dict[str, Any]:
    return {
        "name": name,
        "server": server,
        "credentials_env": credentials_env,
        "after": after,
        "after_credentials_env": after_credentials_env,
    }


def table(found: Sequence[dict[str, Any]]) -> list[str]:
    rows = [HEADERS] + [
        (
            e["name"] or "(none)",
            e["server"] or "-",
            f"{e['credentials_env']}*",
            e["after"] or "-",
        )
        for e in found
    ]
    return aligned(rows)


@click.command("environments")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=str))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: a list of {name, server, credentials_env, after, after_credentials_env}, for a "
    "workflow's matrix.",
)
def environments_command(path: str, fmt: str) -> None:
    """List the environments of certgov.yaml under PATH, each after the one it waits for.

    Offline. Without environments, one entry stands for the one target (no name). CREDENTIALS
    is the prefix of the variables holding each one's credentials (PREFIX + UUID, CLIENT_ID,
    CLIENT_SECRET)."""
    found = entries(path)
    if fmt == "json":
        click.echo(json.dumps(found, indent=2))
        return
    for line in table(found):
        click.echo(line)
