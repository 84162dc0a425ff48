"""The `file` store: one JSON file per account under a private folder, written atomically.

`{type: file, path: .certgov-secrets}` keeps the record for secret path `a/b` in
`<repo root>/.certgov-secrets/a/b.json`. Files are 0600 and folders the store creates are 0700;
the store folder gets a `.gitignore` of `*` so that its records are never committed by accident.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from certgov.apply.stores.base import RecordMeta, SecretRecord
from certgov.declarations.sources import DirectoryTree
from certgov.errors import SecretStoreError
from certgov.secretpath import validate_secret_path

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def _reason(exc: OSError) -> str:
    # strerror and the file name only: OSError text never includes file contents.
    return exc.strerror or type(exc).__name__


class FileStore:
    """Records as `<folder>/<path>.json`; see the module docstring."""

    def __init__(self, name: str, folder: Path) -> None:
        self.name = name
        self.folder = folder
        self._root: str | None = None  # the folder resolved, ending in a separator
        self._parents: dict[str, str] = {}  # each record's folder, resolved

    def _error(self, message: str, *, retryable: bool = True) -> SecretStoreError:
        return SecretStoreError(f"file store {self.name!r}: {message}", retryable=retryable)

    def _target(self, path: str) -> str:
        """The record file for `path`, refusing anything that resolves outside the folder."""
        try:
            validate_secret_path(path)
        except SecretStoreError as exc:
            raise self._error(exc.message, retryable=False) from None
        # Symlinks inside the folder could still lead out of it: compare resolved paths. Each
        # folder is resolved once per run, the file itself only when it is a symlink (string
        # paths: pathlib costs more than the read itself at thousands of records).
        target = os.path.join(self.folder, f"{path}.json")
        if self._root is None:
            self._root = os.path.join(os.path.realpath(self.folder), "")  # with a trailing /
        folder, name = os.path.split(target)
        parent = self._parents.get(folder)
        if parent is None:
            parent = self._parents[folder] = os.path.realpath(folder)
        resolved = (
            os.path.realpath(target) if os.path.islink(target) else os.path.join(parent, name)
        )
        if not resolved.startswith(self._root):
            raise self._error(
                f"secret path {path!r} leads outside {str(self.folder)!r} through a symlink",
                retryable=False,
            )
        return target

    def read_meta(self, path: str) -> RecordMeta | None:
        """The metadata of `<folder>/<path>.json`, or None when that file does not exist."""
        return self._read_meta(self._target(path))

    def read_all_meta(self) -> dict[str, RecordMeta]:
        """The metadata of every record below the folder that reads cleanly, by secret path: one
        walk costs less than a lookup per account, at thousands of them. Links are not
        followed, and a file that is not a clean record is left out, for `read_meta` to report.
        """
        try:
            records = DirectoryTree(Path(self.folder)).files()
        except OSError:
            return {}  # no folder yet (or none this process may list)
        out: dict[str, RecordMeta] = {}
        for rel in records:
            if not rel.endswith(".json"):
                continue
            path = rel.removesuffix(".json")
            try:
                validate_secret_path(path)
                meta = self._read_meta(os.path.join(self.folder, rel))
            except SecretStoreError:
                continue  # a link (O_NOFOLLOW refuses it), not JSON, not a record
            if meta is not None:
                out[path] = meta
        return out

    def _read_meta(self, target: str) -> RecordMeta | None:
        try:
            # O_NOFOLLOW: the record file itself is never a symlink the store did not make.
            fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            try:
                raw = _read_all(fd)
            finally:
                os.close(fd)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._error(f"cannot read {target!r}: {_reason(exc)}") from None
        try:
            data = json.loads(raw)
        except ValueError:
            # Never quote the content: it holds the secret.
            raise self._error(f"{target!r} is not valid JSON", retryable=False) from None
        if not isinstance(data, dict):
            raise self._error(f"{target!r} is not a JSON object", retryable=False)
        try:
            return RecordMeta.from_mapping(data, where=repr(target))
        except SecretStoreError as exc:
            raise self._error(exc.message, retryable=False) from None

    def write(self, path: str, record: SecretRecord) -> None:
        """Write the record atomically: temp file, fsync, rename, fsync of the folder."""
        target = Path(self._target(path))
        try:
            self._make_folders(target.parent)
            self._write_atomically(target, record.to_json().encode())
        except OSError as exc:
            raise self._error(f"cannot write {str(target)!r}: {_reason(exc)}") from None

    def close(self) -> None:
        """Nothing to release."""

    def _make_folders(self, parent: Path) -> None:
        missing = [p for p in (parent, *parent.parents) if not p.exists()]
        for folder in reversed(missing):
            try:
                folder.mkdir(mode=FOLDER_MODE)
            except FileExistsError:
                # A parallel write made it a moment ago; that writer sets its mode.
                continue
            # mkdir's mode is filtered by the umask; set it exactly.
            os.chmod(folder, FOLDER_MODE)
            if folder == self.folder:
                (folder / ".gitignore").write_text("*\n", encoding="utf-8")
        # The folders exist now: check again, in case one appeared as a symlink meanwhile.
        if not parent.resolve().is_relative_to(self.folder.resolve()):
            raise self._error(f"{str(parent)!r} leads outside the store folder", retryable=False)

    def _write_atomically(self, target: Path, data: bytes) -> None:
        fd, temp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as handle:
                # mkstemp makes the file 0600 already; set it anyway rather than rest on that.
                os.fchmod(handle.fileno(), FILE_MODE)
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        _fsync_folder(target.parent)


def _read_all(fd: int) -> bytes:
    """Everything left in `fd`, in os-level reads (a record is small: fdopen's buffered reader
    would cost more system calls than the read itself, at thousands of records)."""
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable: a crash after this keeps the new record."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
