"""The `command` store: hand records to a program of your own (a password manager CLI, a script).

`{type: command, command: [argv...], timeout: 30s}` runs, from the repository root:

    <argv...> write <path>       stdin: the JSON record, secret included. Exit 0 once the record
                                 is stored durably; any other exit status is a failure.
    <argv...> read-meta <path>   stdin: empty. Print the record's metadata as one JSON object
                                 (`uuid`, `client_id`, `secret_created_at`, `server_url`; a whole
                                 record is accepted and its `client_secret` ignored), or print
                                 nothing when there is no record. Exit 0 either way.

The secret travels on stdin only: never in the arguments or the environment, which other users
of the machine can read through /proc. The command inherits certgov's environment unchanged.
Whatever it writes to stderr is shown in error messages, with the secret masked and trimmed to
its last 2000 characters. A command still running at the timeout is killed with its whole
process group and counts as a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

from certgov.apply.stores.base import RecordMeta, SecretRecord, scrub
from certgov.errors import SecretStoreError
from certgov.secretpath import validate_secret_path

STDERR_LIMIT = 2000


class CommandStore:
    """Runs `argv + [operation, path]`; see the module docstring for the protocol."""

    def __init__(self, name: str, argv: Sequence[str], *, timeout: float, cwd: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.timeout = timeout
        self.cwd = cwd

    def _error(self, message: str, *, retryable: bool = True) -> SecretStoreError:
        return SecretStoreError(f"command store {self.name!r}: {message}", retryable=retryable)

    def _check(self, path: str) -> None:
        try:
            validate_secret_path(path)
        except SecretStoreError as exc:
            raise self._error(exc.message, retryable=False) from None

    def read_meta(self, path: str) -> RecordMeta | None:
        """Run `read-meta`; empty output means no record."""
        self._check(path)
        stdout = self._run("read-meta", path, stdin=b"", secret="")
        text = stdout.decode("utf-8", errors="replace").strip()
        if not text:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            # Never quote the output: a command may print a whole record, secret included.
            raise self._error(f"read-meta {path!r} printed something that is not JSON") from None
        if not isinstance(data, dict):
            raise self._error(f"read-meta {path!r} printed JSON that is not an object")
        try:
            return RecordMeta.from_mapping(data, where=f"the output of read-meta {path!r}")
        except SecretStoreError as exc:
            raise self._error(exc.message) from None

    def write(self, path: str, record: SecretRecord) -> None:
        """Run `write` with the record on stdin."""
        self._check(path)
        self._run("write", path, stdin=record.to_json().encode(), secret=record.client_secret)

    def close(self) -> None:
        """Nothing to release."""

    def _run(self, operation: str, path: str, *, stdin: bytes, secret: str) -> bytes:
        argv = [*self.argv, operation, path]
        try:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=self.cwd,
                # Exactly os.environ: the secret is never added to it.
                env=dict(os.environ),
                # Its own process group, so that a timeout kills whatever it started too.
                start_new_session=True,
            )
        except OSError as exc:
            raise self._error(
                f"cannot run {self.argv[0]!r}: {exc.strerror or type(exc).__name__}"
            ) from None
        with process:
            try:
                stdout, stderr = process.communicate(stdin, timeout=self.timeout)
            except subprocess.TimeoutExpired:
                _kill_group(process)
                _, stderr = process.communicate()
                raise self._error(
                    f"{operation} {path!r} timed out after {self.timeout:g}s"
                    + _stderr_suffix(stderr, secret)
                ) from None
        if process.returncode != 0:
            raise self._error(
                f"{operation} {path!r} failed with exit status {process.returncode}"
                + _stderr_suffix(stderr, secret)
            )
        return stdout


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    # The group may be gone already: the command finished right at the timeout.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _stderr_suffix(stderr: bytes, secret: str) -> str:
    text = scrub(stderr.decode("utf-8", errors="replace"), secret).strip()
    if not text:
        return ""
    if len(text) > STDERR_LIMIT:
        text = "…" + text[-STDERR_LIMIT:]
    return f": {text}"
