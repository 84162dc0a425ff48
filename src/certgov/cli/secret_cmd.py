"""`certgov secret adopt`: store a secret that is in use, proven by a login, so plan keeps it."""

from __future__ import annotations

import os
import sys

import click

from certgov.cli.api_options import api_options, connector, env_option
from certgov.errors import UsageError


@click.group("secret")
def secret() -> None:
    """Client secrets of declared service accounts."""


@secret.command("adopt")
@click.argument("address", metavar="ServiceAccount/NAME")
@click.argument("path", default=".", type=click.Path(file_okay=False))
@click.option(
    "--from-env",
    "from_env",
    metavar="VAR",
    help="Read the secret from this environment variable instead of stdin.",
)
@api_options
@env_option
def adopt(
    address: str,
    path: str,
    from_env: str | None,
    url: str | None,
    credentials: str | None,
    parallelism: int,
    env: str | None,
) -> None:
    """Store the secret in use of a declared account in its store, once a login proves it.

    The secret comes from stdin (one line) or --from-env VAR, never from the command line, and
    is never printed. A wrong secret is refused and nothing is written.
    """
    from certgov.run.secret import adopt_secret

    if from_env is not None:
        if from_env not in os.environ:
            raise UsageError(f"--from-env {from_env}: the variable is not set")
        value = os.environ[from_env]
    else:
        if sys.stdin.isatty():
            value = click.prompt(f"Current secret of {address}", hide_input=True, err=True)
        else:
            value = sys.stdin.readline()
    message = adopt_secret(
        path, address, value.strip(), connector(url, credentials, parallelism, env), env
    )
    click.echo(message)
