"""`certgov snapshot`: the live, secret-free state of the tenant, for plans of read accounts."""

from __future__ import annotations

import click

from certgov.cli.api_options import api_options, connector, env_option


@click.command("snapshot")
@click.argument("path", default=".", type=click.Path(file_okay=False))
@click.option(
    "--out",
    "out_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="Write the snapshot here (JSON, schemas/snapshot.json).",
)
@api_options
@env_option
def snapshot_command(
    path: str,
    out_file: str,
    url: str | None,
    credentials: str | None,
    parallelism: int,
    env: str | None,
) -> None:
    """Write every live object of the tenant (no secret) with the target and the server time.

    Needs an admin account: publish the file from the trusted jobs of the default branch, for
    `certgov plan --snapshot` in pull-request jobs whose account may not read service accounts.
    """
    from certgov.run.snapshot import snapshot_folder

    snapshot = snapshot_folder(path, out_file, connector(url, credentials, parallelism, env), env)
    counts = ", ".join(f"{len(items)} {kind}" for kind, items in snapshot.objects.items())
    click.echo(
        f"snapshot of {snapshot.target} at {snapshot.taken_at.isoformat()}: {counts}; "
        f"written to {out_file}"
    )
