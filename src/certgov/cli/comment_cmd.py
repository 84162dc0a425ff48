"""`certgov comment`: put a markdown plan on a pull request as one comment, updated on reruns."""

from __future__ import annotations

from pathlib import Path

import click

from certgov.errors import UsageError
from certgov.gitops.github import BODY_LIMIT, GitHubClient
from certgov.gitops.markers import plan_marker, with_sections


def read_markdown(path: Path) -> str:
    """The file's text; a file that is not UTF-8 is a usage error, not a traceback."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not UTF-8 text: {exc.reason}") from exc
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc


@click.command("comment")
@click.option("--repo", required=True, metavar="OWNER/NAME", help="The repository.")
@click.option(
    "--pr", "pr_number", required=True, type=click.IntRange(min=1), help="Pull request number."
)
@click.option(
    "--file",
    "file_paths",
    required=True,
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Markdown to post, as written by `certgov plan --format markdown`. Repeat it for one "
    "section per file, in order (the plan of each environment).",
)
@click.option(
    "--marker-dir",
    default=".",
    show_default=True,
    metavar="DIR",
    help="The declarations folder the plan is for: one comment per folder.",
)
def comment_command(
    repo: str, pr_number: int, file_paths: tuple[Path, ...], marker_dir: str
) -> None:
    """Create the plan comment on pull request N, or update the one an earlier run made.

    The token is read from GITHUB_TOKEN and the API from GITHUB_API_URL (default
    https://api.github.com).
    """
    marker = plan_marker(marker_dir)
    body = with_sections([read_markdown(path) for path in file_paths], marker)
    if len(file_paths) > 1 and len(body) > BODY_LIMIT:
        raise UsageError(
            f"the {len(file_paths)} sections have {len(body):,} characters together and GitHub "
            f"allows {BODY_LIMIT:,} in a comment: render each plan with `certgov plan --format "
            f"markdown --max-chars {BODY_LIMIT // len(file_paths)}`"
        )
    with GitHubClient.from_env() as github:
        result = github.upsert_comment(repo, pr_number, body, marker)
    click.echo(f"{'created' if result.created else 'updated'} comment {result.url}")
