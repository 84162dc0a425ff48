"""The files of a declarations repository: from a folder, or from a git ref without checkout."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Protocol

from certgov.errors import UsageError

if TYPE_CHECKING:
    import git


class TooLargeError(Exception):
    """A file is larger than the reader's limit."""

    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes")
        self.size = size


class SourceTree(Protocol):
    """Read access to the files below a repository root, by relative POSIX path."""

    def files(self) -> list[str]:
        """Every file below the root, sorted, hidden files and folders left out."""
        ...

    def read(self, rel: str, limit: int | None = None) -> bytes:
        """The file's bytes; TooLargeError when it has more than `limit` of them."""
        ...

    def exists(self, rel: str) -> bool: ...


def _hidden(rel: str) -> bool:
    return any(part.startswith(".") for part in PurePosixPath(rel).parts)


@dataclass
class DirectoryTree:
    """The files of a folder on disk; symlinks that lead outside the folder are left out.

    A pull request's checkout is untrusted input: a link to a file elsewhere on the CI machine
    must not be read, nor echoed back in an error message.
    """

    root: Path

    def _inside(self, path: Path) -> bool:
        return path.resolve().is_relative_to(self.root.resolve())

    def files(self) -> list[str]:
        out: list[str] = []
        folders = [(os.fspath(self.root), "")]
        while folders:
            folder, prefix = folders.pop()
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue  # hidden files and folders (.git, .certgov-secrets)
                    if entry.is_dir():
                        # A link to a folder is not followed (as os.walk does not).
                        if not entry.is_symlink():
                            folders.append((entry.path, f"{prefix}{entry.name}/"))
                    # Of a walked file only the file itself can be a link: resolving every
                    # file of a large repo is what this spares.
                    elif not entry.is_symlink() or self._inside(Path(entry.path)):
                        out.append(prefix + entry.name)
        return sorted(out)

    def read(self, rel: str, limit: int | None = None) -> bytes:
        # os-level calls: open() would add an isatty ioctl, a seek and two more stats to each
        # of thousands of small files.
        fd = os.open(os.path.join(self.root, rel), os.O_RDONLY | os.O_CLOEXEC)
        try:
            size = os.fstat(fd).st_size
            if limit is not None and size > limit:
                raise TooLargeError(size)
            # One byte more than the size: a file that grew meanwhile is read to its end.
            data = os.read(fd, size + 1)
            if len(data) <= size:
                return data
            chunks = [data]
            while chunk := os.read(fd, 1 << 16):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def exists(self, rel: str) -> bool:
        path = self.root / rel
        return path.is_file() and self._inside(path)


@dataclass
class GitTree:
    """The files below a folder as they are in one git commit."""

    blobs: dict[str, git.Blob] = field(default_factory=dict)

    def files(self) -> list[str]:
        return sorted(rel for rel in self.blobs if not _hidden(rel))

    def read(self, rel: str, limit: int | None = None) -> bytes:
        blob = self.blobs[rel]
        if limit is not None and blob.size > limit:
            raise TooLargeError(int(blob.size))
        data: bytes = blob.data_stream.read()
        return data

    def exists(self, rel: str) -> bool:
        return rel in self.blobs


_SYMLINK_MODE = 0o120000


@contextmanager
def open_git_tree(root: Path, ref: str) -> Iterator[tuple[GitTree, str]]:
    """The tree at `ref` below `root` (a folder inside a git work tree), and the commit's sha."""
    import git

    try:
        repo = git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UsageError(f"--ref needs a git repository, and {root} is not inside one") from None
    with repo:
        try:
            commit = repo.commit(ref)
        except (git.BadName, git.BadObject, ValueError, git.GitCommandError):
            raise UsageError(f"unknown git ref {ref!r}") from None
        work_tree = Path(repo.working_tree_dir or root).resolve()
        prefix = root.resolve().relative_to(work_tree).as_posix()
        tree = commit.tree
        if prefix != ".":
            try:
                tree = tree / prefix
            except KeyError:
                raise UsageError(f"{prefix} does not exist at git ref {ref!r}") from None
        blobs: dict[str, git.Blob] = {}
        for item in tree.traverse():
            if isinstance(item, git.Blob) and item.mode != _SYMLINK_MODE:
                rel = PurePosixPath(item.path).relative_to(tree.path) if tree.path else item.path
                blobs[PurePosixPath(rel).as_posix()] = item
        yield GitTree(blobs), commit.hexsha


def head_commit(root: Path) -> str | None:
    """HEAD's sha when `root` is inside a git work tree and unchanged since HEAD, else None."""
    import git  # imported when needed: tens of milliseconds that most commands do not need

    try:
        repo = git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    with repo:
        try:
            sha = repo.head.commit.hexsha
            # Uncommitted edits below the root make the files differ from HEAD: no commit then.
            dirty = repo.is_dirty(untracked_files=True, path=str(root.resolve()))
        except (ValueError, git.GitCommandError):
            return None
        return None if dirty else sha


@cache
def _glob_regex(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def glob_match(pattern: str, rel: str) -> bool:
    """Whether a relative POSIX path matches a glob; only `**` crosses folders."""
    return _glob_regex(pattern).fullmatch(rel) is not None


def select(
    files: list[str], include: tuple[str, ...], exclude: tuple[str, ...], skip: str
) -> list[str]:
    """The files that an include glob matches and no exclude glob does, `skip` left out."""
    return [
        rel
        for rel in files
        if rel != skip
        and any(glob_match(g, rel) for g in include)
        and not any(glob_match(g, rel) for g in exclude)
    ]
