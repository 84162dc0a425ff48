"""The `command` store against a real child process: a small Python script that keeps records as
files and dumps its own /proc/self/cmdline and /proc/self/environ, so the tests can prove the
secret reaches it on stdin only."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from certgov.apply.stores import CommandStore, SecretRecord
from certgov.errors import SecretStoreError

BACKEND = r"""
import json, os, pathlib, subprocess, sys, time

folder, mode, operation, path = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
seen = folder / "seen" / operation
seen.mkdir(parents=True, exist_ok=True)
(seen / "cmdline").write_bytes(pathlib.Path("/proc/self/cmdline").read_bytes())
(seen / "environ").write_bytes(pathlib.Path("/proc/self/environ").read_bytes())
(seen / "cwd").write_text(os.getcwd())
data = sys.stdin.buffer.read()
(seen / "stdin-length").write_text(str(len(data)))
if mode == "fail":
    sys.stderr.write("refused record: " + data.decode() + "\n")
    sys.exit(3)
if mode == "silent-fail":
    sys.exit(4)
if mode == "spam":
    sys.stderr.write("x" * 3000 + "the actual reason\n")
    sys.exit(1)
if mode == "hang":
    grandchild = subprocess.Popen(["sleep", "60"])
    (folder / "grandchild").write_text(str(grandchild.pid))
    sys.stderr.write("got: " + data.decode() + "\n")
    sys.stderr.flush()
    time.sleep(60)
if mode.startswith("print:"):
    print(mode[len("print:"):])
    sys.exit(0)
record_file = folder / "records" / (path.replace("/", "__") + ".json")
if operation == "write":
    record_file.parent.mkdir(exist_ok=True)
    record_file.write_bytes(data)
elif record_file.exists():
    record = json.loads(record_file.read_bytes())
    del record["client_secret"]
    print(json.dumps(record))
"""


@pytest.fixture
def backend(tmp_path: Path) -> Path:
    script = tmp_path / "backend.py"
    script.write_text(BACKEND)
    return script


def _store(
    tmp_path: Path, backend: Path, mode: str = "normal", timeout: float = 10.0
) -> CommandStore:
    argv = [sys.executable, str(backend), str(tmp_path), mode]
    return CommandStore("pass", argv, timeout=timeout, cwd=tmp_path)


def _nul_split(raw: bytes) -> list[str]:
    return raw.decode().rstrip("\0").split("\0")


def test_write_then_read_meta_round_trips(
    tmp_path: Path, backend: Path, record: SecretRecord
) -> None:
    store = _store(tmp_path, backend)
    store.write("ci/deploy", record)

    assert store.read_meta("ci/deploy") == record.meta()


def test_write_sends_the_record_on_stdin(
    tmp_path: Path, backend: Path, record: SecretRecord
) -> None:
    _store(tmp_path, backend).write("ci/deploy", record)

    assert (tmp_path / "records" / "ci__deploy.json").read_text() == record.to_json()


def test_command_arguments_are_argv_then_operation_and_path(
    tmp_path: Path, backend: Path, record: SecretRecord
) -> None:
    _store(tmp_path, backend).write("ci/deploy", record)

    cmdline = _nul_split((tmp_path / "seen" / "write" / "cmdline").read_bytes())
    assert cmdline == [sys.executable, str(backend), str(tmp_path), "normal", "write", "ci/deploy"]


def test_child_environment_is_certgovs_unchanged(
    tmp_path: Path, backend: Path, record: SecretRecord
) -> None:
    _store(tmp_path, backend).write("ci/deploy", record)

    environ = _nul_split((tmp_path / "seen" / "write" / "environ").read_bytes())
    assert dict(entry.split("=", 1) for entry in environ) == dict(os.environ)


def test_secret_is_in_neither_cmdline_nor_environ_of_the_child(
    tmp_path: Path, backend: Path, record: SecretRecord
) -> None:
    _store(tmp_path, backend).write("ci/deploy", record)

    seen = tmp_path / "seen" / "write"
    exposed = (seen / "cmdline").read_bytes() + (seen / "environ").read_bytes()
    assert record.client_secret.encode() not in exposed


def test_command_runs_in_the_repo_root(tmp_path: Path, backend: Path, record: SecretRecord) -> None:
    _store(tmp_path, backend).write("ci/deploy", record)

    assert (tmp_path / "seen" / "write" / "cwd").read_text() == str(tmp_path)


def test_read_meta_sends_nothing_on_stdin(tmp_path: Path, backend: Path) -> None:
    assert _store(tmp_path, backend).read_meta("ci/deploy") is None
    assert (tmp_path / "seen" / "read-meta" / "stdin-length").read_text() == "0"


def test_read_meta_accepts_a_whole_record_and_drops_the_secret(
    tmp_path: Path, backend: Path, record: SecretRecord
) -> None:
    store = _store(tmp_path, backend, mode=f"print:{record.to_json()}")

    assert store.read_meta("ci/deploy") == record.meta()


def test_non_zero_exit_is_a_failure_with_scrubbed_stderr(
    tmp_path: Path, backend: Path, record: SecretRecord
) -> None:
    store = _store(tmp_path, backend, mode="fail")

    with pytest.raises(SecretStoreError) as caught:
        store.write("ci/deploy", record)

    shown = record.to_json().replace(record.client_secret, "***")
    assert caught.value.message == (
        f"command store 'pass': write 'ci/deploy' failed with exit status 3: refused record: {shown}"
    )
    assert caught.value.retryable is True


def test_failure_without_stderr_says_only_the_status(
    tmp_path: Path, backend: Path, record: SecretRecord
) -> None:
    store = _store(tmp_path, backend, mode="silent-fail")

    with pytest.raises(SecretStoreError) as caught:
        store.write("ci/deploy", record)

    assert caught.value.message == (
        "command store 'pass': write 'ci/deploy' failed with exit status 4"
    )


def test_long_stderr_is_trimmed_to_its_end(tmp_path: Path, backend: Path) -> None:
    store = _store(tmp_path, backend, mode="spam")

    with pytest.raises(SecretStoreError) as caught:
        store.read_meta("ci/deploy")

    tail = ("x" * 3000 + "the actual reason")[-2000:]
    assert caught.value.message == (
        f"command store 'pass': read-meta 'ci/deploy' failed with exit status 1: …{tail}"
    )


def test_timeout_kills_the_command_and_what_it_started(
    tmp_path: Path, backend: Path, record: SecretRecord
) -> None:
    store = _store(tmp_path, backend, mode="hang", timeout=1.0)

    started = time.monotonic()
    with pytest.raises(SecretStoreError) as caught:
        store.write("ci/deploy", record)
    elapsed = time.monotonic() - started

    shown = record.to_json().replace(record.client_secret, "***")
    assert caught.value.message == (
        f"command store 'pass': write 'ci/deploy' timed out after 1s: got: {shown}"
    )
    assert elapsed < 10
    assert _gone(int((tmp_path / "grandchild").read_text()))


def _gone(pid: int) -> bool:
    """True once `pid` has exited (a zombie waiting for a reaper counts as exited)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            return True
        if "\nState:\tZ" in status:
            return True
        time.sleep(0.05)
    return False


def test_missing_program_is_a_failure(tmp_path: Path, record: SecretRecord) -> None:
    store = CommandStore("pass", ["./no-such-program"], timeout=5, cwd=tmp_path)

    with pytest.raises(SecretStoreError) as caught:
        store.write("ci/deploy", record)

    assert caught.value.message == (
        "command store 'pass': cannot run './no-such-program': No such file or directory"
    )


@pytest.mark.parametrize(
    ("output", "problem"),
    [
        ("not json", "read-meta 'ci/deploy' printed something that is not JSON"),
        ("[1]", "read-meta 'ci/deploy' printed JSON that is not an object"),
        (
            '{"uuid": "u"}',
            "the output of read-meta 'ci/deploy' is not a certgov secret record: missing or"
            " empty client_id, secret_created_at, server_url",
        ),
    ],
)
def test_bad_read_meta_output_is_a_failure(
    tmp_path: Path, backend: Path, output: str, problem: str
) -> None:
    store = _store(tmp_path, backend, mode=f"print:{output}")

    with pytest.raises(SecretStoreError) as caught:
        store.read_meta("ci/deploy")

    assert caught.value.message == f"command store 'pass': {problem}"


def test_path_escape_is_refused_before_running(
    tmp_path: Path, backend: Path, record: SecretRecord
) -> None:
    store = _store(tmp_path, backend)

    with pytest.raises(SecretStoreError) as caught:
        store.write("../x", record)

    assert caught.value.retryable is False
    assert not (tmp_path / "seen").exists()


def test_close_is_harmless(tmp_path: Path, backend: Path) -> None:
    store = _store(tmp_path, backend)
    store.close()

    assert store.read_meta("ci/deploy") is None
