"""Registers every command module with the group; one line per module."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    from certgov.cli.apply_cmd import apply_command
    from certgov.cli.comment_cmd import comment_command
    from certgov.cli.demo_cmd import demo
    from certgov.cli.drift_cmd import drift_command
    from certgov.cli.environments_cmd import environments_command
    from certgov.cli.import_cmd import import_command
    from certgov.cli.lint_cmd import lint_command
    from certgov.cli.plan_cmd import plan_command
    from certgov.cli.rollout_cmd import rollout
    from certgov.cli.secret_cmd import secret
    from certgov.cli.server_cmd import server
    from certgov.cli.snapshot_cmd import snapshot_command
    from certgov.cli.test_cmd import test_command
    from certgov.cli.validate_cmd import validate

    group.add_command(server)
    group.add_command(validate)
    group.add_command(plan_command)
    group.add_command(apply_command)
    group.add_command(demo)
    group.add_command(lint_command)
    group.add_command(import_command)
    group.add_command(test_command)
    group.add_command(rollout)
    group.add_command(comment_command)
    group.add_command(drift_command)
    group.add_command(secret)
    group.add_command(snapshot_command)
    group.add_command(environments_command)
