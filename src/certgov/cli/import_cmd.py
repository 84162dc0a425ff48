"""`certgov import`: write the live tenant's objects as declaration files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import click
import yaml

from certgov.cli.api_options import api_options, connector, env_option, open_client
from certgov.errors import EnvironmentRequiredError
from certgov.state import KINDS, POLICY, SERVICE_ACCOUNT

if TYPE_CHECKING:
    from certgov.importer import Split
    from certgov.run.facts import Connect


def config_server(out: Path) -> str | None:
    """`server:` of an existing certgov.yaml in the output folder (for --url's fallback);
    refused when it declares environments (import one with --env)."""
    path = out / "certgov.yaml"
    if not path.is_file():
        return None
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        return None  # validate reports it; import only looks for a fallback URL here
    if isinstance(doc, dict) and isinstance(doc.get("environments"), dict):
        raise EnvironmentRequiredError(list(doc["environments"]))
    server = doc.get("server") if isinstance(doc, dict) else None
    return server if isinstance(server, str) else None


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


@click.command("import")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder to write the declarations to (created if missing).",
)
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(list(KINDS)),
    help="Import only these kinds (repeatable) [default: all].",
)
@click.option(
    "--split",
    type=click.Choice(["per-object", "per-kind"]),
    default="per-object",
    show_default=True,
    help="One file per object, or one multi-document file per kind.",
)
@click.option("--force", is_flag=True, help="Overwrite files that already exist and differ.")
@api_options
@env_option
def import_command(
    out: Path,
    kinds: tuple[str, ...],
    split: str,
    force: bool,
    url: str | None,
    credentials: str | None,
    parallelism: int,
    env: str | None,
) -> None:
    """Read the live tenant and write its objects as declarations under --out (no secrets).

    With --env, the environment's objects are merged into the declarations already there:
    what is the same is declared once, what differs by a variable's value is written with
    ${var.NAME}, and the rest is declared for this environment alone."""
    from certgov.client import read_live_state
    from certgov.importer import render_files, write_files

    wanted = kinds or KINDS
    if env is not None:
        _import_environment(out, env, wanted, connector(url, credentials, parallelism, env))
        return
    with open_client(url, credentials, config_server(out), parallelism) as client:
        live = read_live_state(client, wanted)
        server = client.server
    files = render_files(live, server=server, kinds=wanted, split=cast("Split", split))
    result = write_files(out, files, force=force)
    accounts = len(live.of_kind(SERVICE_ACCOUNT))
    policies = len(live.of_kind(POLICY))
    click.echo(
        f"imported {_count(accounts, 'service account', 'service accounts')},"
        f" {_count(policies, 'policy', 'policies')} into {out}:"
        f" {_count(len(result.written), 'file', 'files')} written,"
        f" {len(result.unchanged)} unchanged"
        + (", the existing certgov.yaml kept" if result.kept else "")
    )
    if accounts:
        click.echo(
            "next: fill in secret: for each service account (certgov lint lists them as CG006),"
            " then certgov plan should show no changes"
        )


def _import_environment(out: Path, env: str, kinds: tuple[str, ...], connect: Connect) -> None:
    from certgov.run.importing import import_environment

    result, written = import_environment(out, env, kinds, connect)
    click.echo(
        f"imported environment {env} into {out}:"
        f" {_count(result.shared, 'declaration', 'declarations')} shared with other"
        f" environments, {result.only_here} only in {env};"
        f" {_count(written, 'file', 'files')} written"
    )
