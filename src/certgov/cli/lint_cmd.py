"""`certgov lint`: best-practice findings for the declarations under PATH, offline."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import click

from certgov.cli.api_options import env_option
from certgov.cli.output import stdout
from certgov.errors import EXIT_ERROR, DeclarationError, UsageError
from certgov.state import State


def _check_ref(path: str, ref: str) -> None:
    """Refuse a --base that git cannot resolve (a typo must not make every rule new)."""
    import git

    try:
        repo = git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UsageError(f"--base {ref}: {path} is not inside a git repository") from None
    with repo:
        try:
            repo.commit(ref)
        except (git.BadName, git.BadObject, ValueError, git.GitCommandError):
            raise UsageError(f"--base {ref}: unknown git ref") from None


def _base_state(path: str, ref: str | None, environment: str | None) -> State | None:
    """The desired State at git `ref` (HEAD when None); None when there is nothing there."""
    from certgov.declarations import load

    if ref is not None:
        _check_ref(path, ref)
    try:
        return load(path, ref=ref or "HEAD", environment=environment).state
    except (UsageError, DeclarationError):
        # No git, no commit yet, or the folder did not exist or was invalid there: then every
        # rule counts as new, which is what a first commit of these files means.
        return None


def _parse_now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--now {text!r}: expected an RFC 3339 time") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@click.command("lint")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=str))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif"]),
    default="text",
    show_default=True,
    help="text for people, json for machines, sarif for code scanning.",
)
@click.option(
    "--output",
    "output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the report to this file instead of standard output.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning", "note"]),
    default="error",
    show_default=True,
    help="Exit 1 when a finding is at this level or above.",
)
@click.option(
    "--base",
    default=None,
    metavar="GITREF",
    help="CG010 counts a hard rule as new when the policy at this git ref lacks it"
    " [default: HEAD, if there is one].",
)
@click.option(
    "--now",
    default=None,
    metavar="TIME",
    help="Judge expiry (CG013) as of this RFC 3339 time instead of now.",
)
@env_option
def lint_command(
    path: str,
    fmt: str,
    output: str | None,
    fail_on: str,
    base: str | None,
    now: str | None,
    env: str | None,
) -> None:
    """Check the declarations under PATH against best practice; exit 1 on --fail-on findings.

    With environments and no --env, every environment is checked."""
    from certgov.declarations import load, load_each
    from certgov.lint import lint
    from certgov.lint.engine import merged
    from certgov.lint.report import render_json, render_text
    from certgov.render import sarif

    when = _parse_now(now)
    loaded = [load(path, environment=env)] if env else load_each(path)
    report = merged(
        [lint(d, now=when, base=_base_state(path, base, d.environment)) for d in loaded]
    )
    document = report.to_json()
    buffer = io.StringIO()
    {"text": render_text, "json": render_json, "sarif": sarif.render}[fmt](document, buffer)
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(buffer.getvalue())
    else:
        stdout().write(buffer.getvalue())
    if report.reaches(fail_on):
        raise SystemExit(EXIT_ERROR)
