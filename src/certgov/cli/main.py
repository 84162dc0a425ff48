"""The command group and the one error boundary that maps errors to messages and exit codes."""

from __future__ import annotations

import sys
import traceback
from typing import Any

import click

from certgov.errors import EXIT_ERROR, EXIT_INTERRUPTED, CertgovError, DeclarationError
from certgov.version import __version__


class BadUsage(click.UsageError):
    """click's usage error, with click's message, exiting 1 like any other bad input."""

    exit_code = EXIT_ERROR


class NoCommand(click.exceptions.NoArgsIsHelpError):
    """A group called without its command: its help alone, exiting 1 like any bad usage."""

    exit_code = EXIT_ERROR


def _usage(exc: click.UsageError) -> click.UsageError:
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        return NoCommand(exc.ctx)
    return BadUsage(exc.format_message(), exc.ctx)


class CertgovGroup(click.Group):
    """A click group whose `invoke` is the one place that turns errors into text and exit codes.

    Usage errors (unknown options, bad values) exit 1 like any bad input, never click's 2,
    which `--detailed-exitcode` and drift give their own meanings.
    """

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            raise _usage(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        debug = bool(ctx.params.get("debug"))
        try:
            return super().invoke(ctx)
        except (BadUsage, NoCommand):
            raise
        except click.UsageError as exc:
            raise _usage(exc) from None
        except CertgovError as exc:
            report_error(exc, debug=debug)
            ctx.exit(exc.exit_code)
        except (KeyboardInterrupt, click.Abort):
            # click turns Ctrl-C at a prompt into Abort: an interrupt all the same.
            click.echo("error: interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)


def report_error(exc: CertgovError, *, debug: bool) -> None:
    """Print `error: <message>` and, where known, `  at path:line:col` lines."""
    click.echo(f"error: {exc.message}", err=True)
    if isinstance(exc, DeclarationError):
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
    elif exc.position is not None:
        click.echo(f"  at {exc.position}", err=True)
    if debug:
        click.echo("".join(traceback.format_exception(exc)), err=True)


@click.group(cls=CertgovGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="certgov")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Service accounts and certificate policies of the Zaita CLM, as code."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def _register() -> None:
    # Commands live in their own modules; importing them here keeps this module thin.
    from certgov.cli import commands

    commands.register(cli)


_register()


def main() -> None:
    """Console-script entry point."""
    from certgov.gcpause import freeze_after_pauses

    freeze_after_pauses()
    sys.exit(cli.main(standalone_mode=True) or 0)
