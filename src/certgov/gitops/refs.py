"""Which git ref drift compares HEAD with: the one given, else what the branch tracks."""

from __future__ import annotations

import git

from certgov.errors import UsageError


def applied_ref(path: str, given: str | None) -> tuple[str | None, str | None]:
    """The ref last applied, or None and why pending changes cannot be checked.

    Without `--applied-ref`, the upstream of the checked-out branch (`origin/main` in a CI
    clone of main, where apply runs on merge), else HEAD (a local repository).
    """
    try:
        repo = git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        if given:
            raise UsageError(
                f"--applied-ref {given}: {path} is not inside a git repository"
            ) from None
        return None, f"{path} is not in a git repository: nothing tells declared from applied"
    with repo:
        if given:
            try:
                repo.commit(given)
            except (git.BadName, git.BadObject, ValueError, git.GitCommandError):
                raise UsageError(f"--applied-ref {given!r}: no such git ref in {path}") from None
            return given, None
        try:
            tracking = repo.active_branch.tracking_branch()
        except TypeError:  # a detached HEAD tracks nothing
            tracking = None
        if tracking is not None and tracking.is_valid():
            return tracking.name, None
        try:
            repo.commit("HEAD")
        except ValueError:
            return None, "the git repository has no commit yet"
        return "HEAD", None
