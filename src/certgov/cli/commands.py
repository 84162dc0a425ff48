"""Registers every command module with the group; one line per module."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    from certgov.cli.server_cmd import server
    from certgov.cli.validate_cmd import validate

    group.add_command(server)
    group.add_command(validate)
