"""The `file` store: layout, modes, atomic writes and paths that try to leave the folder."""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from certgov.apply.stores import FileStore, SecretRecord
from certgov.errors import SecretStoreError


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "repo" / ".certgov-secrets"


@pytest.fixture
def store(folder: Path) -> FileStore:
    return FileStore("local", folder)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_write_then_read_meta_round_trips(store: FileStore, record: SecretRecord) -> None:
    store.write("ci/policy-validation", record)

    assert store.read_meta("ci/policy-validation") == record.meta()


def test_record_file_holds_the_json_record(
    store: FileStore, folder: Path, record: SecretRecord
) -> None:
    store.write("ci/policy-validation", record)

    data = json.loads((folder / "ci" / "policy-validation.json").read_text())
    assert data == {
        "uuid": record.uuid,
        "client_id": record.client_id,
        "client_secret": record.client_secret,
        "secret_created_at": record.secret_created_at,
        "server_url": record.server_url,
    }


def test_read_meta_of_a_missing_record_is_none(store: FileStore) -> None:
    assert store.read_meta("ci/nothing-here") is None


def test_files_are_0600_and_folders_0700(
    store: FileStore, folder: Path, record: SecretRecord
) -> None:
    old_umask = os.umask(0o022)
    try:
        store.write("team/ci/deploy", record)
    finally:
        os.umask(old_umask)

    modes = {
        str(path.relative_to(folder.parent)): oct(_mode(path))
        for path in (folder, folder / "team", folder / "team" / "ci")
    }
    modes["deploy.json"] = oct(_mode(folder / "team" / "ci" / "deploy.json"))
    assert modes == {
        ".certgov-secrets": "0o700",
        ".certgov-secrets/team": "0o700",
        ".certgov-secrets/team/ci": "0o700",
        "deploy.json": "0o600",
    }


def test_store_folder_is_git_ignored(store: FileStore, folder: Path, record: SecretRecord) -> None:
    store.write("deploy", record)

    assert (folder / ".gitignore").read_text() == "*\n"


def test_rewrite_replaces_the_record_and_leaves_no_temp_file(
    store: FileStore,
    folder: Path,
    record: SecretRecord,
    make_record: Callable[[str], SecretRecord],
) -> None:
    newer = make_record("2026-04-01T10:00:00Z")
    store.write("ci/deploy", record)
    store.write("ci/deploy", newer)

    assert store.read_meta("ci/deploy") == newer.meta()
    assert _tree(folder) == [".gitignore", "ci", "ci/deploy.json"]


def test_failed_fsync_leaves_the_previous_record_whole(
    store: FileStore,
    folder: Path,
    record: SecretRecord,
    make_record: Callable[[str], SecretRecord],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store.write("ci/deploy", record)
    before = (folder / "ci" / "deploy.json").read_bytes()

    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(SecretStoreError) as caught:
        store.write("ci/deploy", make_record("2026-04-01T10:00:00Z"))

    target = folder / "ci" / "deploy.json"
    assert caught.value.message == (
        f"file store 'local': cannot write {str(target)!r}: Input/output error"
    )
    assert caught.value.retryable is True
    assert target.read_bytes() == before
    assert _tree(folder) == [".gitignore", "ci", "ci/deploy.json"]


def test_failed_first_write_leaves_no_file(
    store: FileStore, folder: Path, record: SecretRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_replace(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(SecretStoreError):
        store.write("ci/deploy", record)

    assert _tree(folder) == [".gitignore", "ci"]


def test_rename_is_made_durable_by_syncing_the_folder(
    store: FileStore, folder: Path, record: SecretRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    store.write("deploy", record)

    assert synced == ["file", "folder"]


@pytest.mark.parametrize(
    "path",
    [
        "../outside",
        "/etc/passwd",
        "a/../../outside",
        "",
        "a//b",
        ".hidden",
        "a/./b",
        "a\\b",
        "a\0b",
    ],
)
def test_paths_that_leave_the_folder_are_refused(
    store: FileStore, folder: Path, record: SecretRecord, path: str
) -> None:
    with pytest.raises(SecretStoreError) as caught:
        store.write(path, record)

    assert caught.value.retryable is False
    assert not folder.exists()


def test_refusal_names_the_path_and_the_rule(store: FileStore, record: SecretRecord) -> None:
    with pytest.raises(SecretStoreError) as caught:
        store.read_meta("../outside")

    assert caught.value.message == (
        "file store 'local': secret path '../outside' is not allowed: use relative segments of"
        " letters, digits, '.', '_' and '-' separated by '/', none starting with '.'"
        " (at most 256 characters)"
    )


def test_symlinked_folder_leading_outside_is_refused(
    store: FileStore, folder: Path, tmp_path: Path, record: SecretRecord
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    folder.mkdir(parents=True)
    (folder / "team").symlink_to(outside)

    with pytest.raises(SecretStoreError) as caught:
        store.write("team/deploy", record)

    assert caught.value.message == (
        f"file store 'local': secret path 'team/deploy' leads outside {str(folder)!r}"
        " through a symlink"
    )
    assert list(outside.iterdir()) == []


def test_symlinked_record_leading_outside_is_not_read(
    store: FileStore, folder: Path, tmp_path: Path, record: SecretRecord
) -> None:
    outside = tmp_path / "elsewhere.json"
    outside.write_text(record.to_json())
    folder.mkdir(parents=True)
    (folder / "deploy.json").symlink_to(outside)

    with pytest.raises(SecretStoreError) as caught:
        store.read_meta("deploy")

    assert caught.value.retryable is False


def test_symlinked_record_inside_the_folder_is_not_followed(
    store: FileStore, folder: Path, record: SecretRecord
) -> None:
    store.write("real", record)
    (folder / "alias.json").symlink_to(folder / "real.json")

    with pytest.raises(SecretStoreError) as caught:
        store.read_meta("alias")

    assert caught.value.message == (
        f"file store 'local': cannot read {str(folder / 'alias.json')!r}:"
        " Too many levels of symbolic links"
    )


def test_read_only_folder_fails_the_write_with_a_retryable_error(
    store: FileStore, folder: Path, record: SecretRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The tests may run as root, which write permissions do not stop: play the EACCES that
    # creating the temp file meets in a read-only folder.
    def refusing_mkstemp(**kwargs: object) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refusing_mkstemp)
    with pytest.raises(SecretStoreError) as caught:
        store.write("deploy", record)

    assert caught.value.message == (
        f"file store 'local': cannot write {str(folder / 'deploy.json')!r}: Permission denied"
    )
    assert caught.value.retryable is True


def test_folder_that_is_a_file_fails_the_write(tmp_path: Path, record: SecretRecord) -> None:
    blocker = tmp_path / "secrets"
    blocker.write_text("not a folder")
    store = FileStore("local", blocker)

    with pytest.raises(SecretStoreError) as caught:
        store.write("deploy", record)

    assert caught.value.message == (
        f"file store 'local': cannot write {str(blocker / 'deploy.json')!r}: Not a directory"
    )
    assert caught.value.retryable is True


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{not json", "is not valid JSON"),
        (b"[1, 2]", "is not a JSON object"),
    ],
)
def test_unreadable_record_is_an_error_without_its_content(
    store: FileStore, folder: Path, content: bytes, problem: str
) -> None:
    folder.mkdir(parents=True)
    (folder / "deploy.json").write_bytes(content)

    with pytest.raises(SecretStoreError) as caught:
        store.read_meta("deploy")

    assert caught.value.message == (
        f"file store 'local': {str(folder / 'deploy.json')!r} {problem}"
    )


def test_record_missing_fields_names_them_not_their_values(
    store: FileStore, folder: Path, record: SecretRecord
) -> None:
    folder.mkdir(parents=True)
    data = record.to_dict()
    del data["client_id"], data["server_url"]
    (folder / "deploy.json").write_text(json.dumps(data))

    with pytest.raises(SecretStoreError) as caught:
        store.read_meta("deploy")

    target = repr(str(folder / "deploy.json"))
    assert caught.value.message == (
        f"file store 'local': {target} is not a certgov secret record:"
        " missing or empty client_id, server_url"
    )


def test_parallel_writes_into_a_new_folder_all_succeed(
    store: FileStore, folder: Path, make_record: Callable[[str], SecretRecord]
) -> None:
    records = {f"team/ci/account-{n}": make_record(f"2026-04-0{n + 1}T10:00:00Z") for n in range(8)}

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda item: store.write(*item), records.items()))

    assert {path: store.read_meta(path) for path in records} == {
        path: record.meta() for path, record in records.items()
    }
    assert _mode(folder / "team" / "ci") == 0o700


def test_read_all_meta_answers_every_clean_record_and_leaves_the_rest_to_read_meta(
    store: FileStore, folder: Path, tmp_path: Path, record: SecretRecord
) -> None:
    for path in ("deploy", "ci/policy-validation", "a/b/c"):
        store.write(path, record)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.json").write_text(record.to_json())
    (folder / "linked.json").symlink_to(outside / "x.json")  # a link: not followed
    (folder / "via").symlink_to(outside)  # nor a linked folder
    (folder / "broken.json").write_bytes(b"{not json")
    (folder / "list.json").write_bytes(b"[1, 2]")
    (folder / "odd name.json").write_text(record.to_json())  # not a secret path
    (folder / "notes.txt").write_text(record.to_json())

    found = store.read_all_meta()

    meta = store.read_meta("deploy")
    assert found == {"deploy": meta, "ci/policy-validation": meta, "a/b/c": meta}
    assert store.read_meta("a/b/c") == meta
    with pytest.raises(SecretStoreError, match="is not valid JSON"):
        store.read_meta("broken")


def test_read_all_meta_of_a_missing_folder_is_empty(store: FileStore) -> None:
    assert store.read_all_meta() == {}
