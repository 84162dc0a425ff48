"""CG012: text that looks like a client secret in the files of the repository.

The files scanned are those git tracks below the declarations' root (the index, so a staged
file counts, read from the work tree as pre-commit sees it); outside a git work tree, every
file below the root that is not hidden. A secret is 64 letters and digits standing alone, on
a line that mentions client_secret (or one or two lines below such a line), or within three
lines of a `svc_` client id. The value never leaves this module: findings show it masked.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import git

from certgov.declarations.sources import DirectoryTree
from certgov.lint.catalogue import BY_ID
from certgov.lint.context import relative_posix
from certgov.lint.model import Finding, Location

MAX_SCAN_BYTES = 5 * 1024 * 1024
_SECRET = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z0-9]{64}(?![A-Za-z0-9_])")
_CLIENT_ID = re.compile(r"(?<![A-Za-z0-9_])svc_[a-z0-9]{32}(?![A-Za-z0-9_])")
_KEYWORD = re.compile(r"client[_-]?secret", re.IGNORECASE)
_KEYWORD_REACH = 2
_CLIENT_ID_REACH = 3


def tracked_files(root: Path) -> tuple[Path, list[str]] | None:
    """The git work tree holding `root` and the tracked files below `root` (relative to the
    work tree), or None when `root` is not in a git work tree."""
    try:
        repo = git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    with repo:
        work_tree = Path(repo.working_tree_dir or root).resolve()
        prefix = relative_posix(root, work_tree)
        listed = repo.git.ls_files("-z", "--", prefix)
    return work_tree, sorted({name for name in listed.split("\0") if name})


def files_to_scan(root: Path) -> tuple[Path, list[str]]:
    """The repository root findings are relative to, and the files to scan below `root`."""
    found = tracked_files(root)
    if found is not None:
        return found
    return root.resolve(), DirectoryTree(root).files()


def mask(secret: str) -> str:
    return f"<{len(secret)} characters, masked>"


def mask_client_id(client_id: str) -> str:
    return f"{client_id[:8]}…"


def _near(lines: list[str], index: int, pattern: re.Pattern[str], reach: int) -> str | None:
    start, stop = max(0, index - reach), min(len(lines), index + reach + 1)
    for line in lines[start:stop]:
        found = pattern.search(line)
        if found:
            return found.group(0)
    return None


def _keyword_near(lines: list[str], index: int) -> bool:
    start = max(0, index - _KEYWORD_REACH)
    return any(_KEYWORD.search(line) for line in lines[start : index + 1])


def scan_text(rel: str, text: str) -> Iterator[Finding]:
    """Every secret-looking value in one file's text."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        for match in _SECRET.finditer(line):
            client_id = _near(lines, index, _CLIENT_ID, _CLIENT_ID_REACH)
            if client_id is None and not _keyword_near(lines, index):
                continue
            what = (
                f"a client secret {mask(match.group(0))} next to client id"
                f" {mask_client_id(client_id)}"
                if client_id
                else f"a client secret {mask(match.group(0))}"
            )
            # The fingerprint must not carry the value: the line with the value blanked is used.
            blanked = line[: match.start()] + "*" + line[match.end() :]
            key = hashlib.sha256(blanked.strip().encode()).hexdigest()[:16]
            yield Finding(
                "CG012",
                BY_ID["CG012"].level,
                f"{rel} holds {what}; remove it, regenerate the secret and keep it in a"
                " secret store",
                Location(rel, index + 1, match.start() + 1),
                None,
                key,
            )


def scan(root: Path) -> Iterator[Finding]:
    """CG012 over the files below `root`; paths relative to the repository root."""
    base, files = files_to_scan(root)
    for rel in files:
        path = base / rel
        if not path.is_file() or path.stat().st_size > MAX_SCAN_BYTES:
            continue  # deleted but still in the index, or too large to be hand-written text
        data = path.read_bytes()
        if b"\0" in data:
            continue  # binary
        yield from scan_text(relative_posix(path, base), data.decode("utf-8", errors="replace"))
