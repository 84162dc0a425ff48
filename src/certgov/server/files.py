"""Files that hold the server's secrets: created private, refused when others can read them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from certgov.server.settings import ServerConfigError


def private_file_problem(path: Path, holds: str) -> str | None:
    """Why `path`, a file holding `holds`, must not be used as it is: other users may read or
    write it. None when only its owner may (or when it does not exist)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None
    if mode & 0o077 == 0:
        return None
    return (
        f"{path} can be read by other users (mode {mode:04o}), and it holds {holds}: "
        f"run `chmod 600 {path}`"
    )


def refuse_open_file(path: Path, what: str, holds: str) -> None:
    """Raise ServerConfigError, naming the fix, when others may read `path`."""
    problem = private_file_problem(path, holds)
    if problem is not None:
        raise ServerConfigError(f"{what} {problem}")


def create_private(path: Path, content: bytes = b"") -> bool:
    """Create `path` with mode 0600 holding `content`, unless it exists; True when this call
    made it. The content appears at once and whole (written aside, then linked into place), so
    that a concurrent reader never sees a partial key."""
    if path.exists():
        return False
    aside = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(content)
        os.link(aside, path)
    except FileExistsError:
        return False
    except OSError as exc:
        raise ServerConfigError(f"cannot create {path}: {exc.strerror}") from None
    finally:
        aside.unlink(missing_ok=True)
    return True
