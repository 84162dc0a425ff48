"""`--notify URL` (repeatable) for drift and apply: results to webhooks, failures as warnings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import click

from certgov.cli.api_options import F


def notify_option(command: F) -> F:
    return click.option(
        "--notify",
        "notify_urls",
        multiple=True,
        metavar="URL",
        help="Send the result to this webhook (JSON signed with CERTGOV_NOTIFY_KEY, or Slack's "
        "shape for a Slack URL); repeatable. A failed notification is a warning.",
    )(command)


def send(urls: Sequence[str], event: str, document: Mapping[str, Any], summary: str) -> None:
    """Notify every URL; say on stderr what did not go out."""
    if not urls:
        return
    from certgov.gitops.notify import Message, notify

    for warning in notify(urls, Message(event, document, summary)):
        click.echo(f"warning: {warning}", err=True)
