"""store_facts: a store behind a service is read several records at a time, the file store in
turn; the answer is the same either way, by account, in the declared order."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from certgov.apply.stores.base import RecordMeta, SecretRecord
from certgov.apply.stores.file import FileStore
from certgov.plan.model import StoreRecordMeta
from certgov.run.facts import store_facts
from certgov.state import SERVICE_ACCOUNT, Resource, State

CREATED = "2026-12-01T10:00:00Z"


class RemoteStore:
    """A store whose every read waits, recording how many were under way at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.under_way = 0
        self.most = 0
        self.threads: set[str] = set()
        self.paths: list[str] = []

    def read_meta(self, path: str) -> RecordMeta | None:
        with self.lock:
            self.under_way += 1
            self.most = max(self.most, self.under_way)
            self.threads.add(threading.current_thread().name)
            self.paths.append(path)
        time.sleep(0.02)
        with self.lock:
            self.under_way -= 1
        if path.endswith("missing"):
            return None
        return RecordMeta("uuid-" + path, "client-" + path, CREATED, "https://clm.example")


def _accounts(*secrets: tuple[str, str]) -> State:
    return State.build(
        [
            Resource(
                SERVICE_ACCOUNT,
                f"acct-{i}",
                {},
                {"secret": {"store": store, "path": path}},
            )
            for i, (store, path) in enumerate(secrets)
        ]
    )


def test_a_remote_store_is_read_in_parallel_and_a_file_store_in_turn(tmp_path: Path) -> None:
    remote = RemoteStore()
    files = FileStore("local", tmp_path / "secrets")
    files.write(
        "on-disk",
        SecretRecord("uuid-d", "client-d", "s3cr3t", CREATED, "https://clm.example"),
    )
    stores: dict[str, Any] = {"vault": remote, "local": files}
    desired = _accounts(
        *[("vault", f"r{i}") for i in range(8)],
        ("local", "on-disk"),
        ("vault", "missing"),
        ("local", "absent"),
    )
    facts = store_facts(desired, stores, parallelism=4)
    assert facts == {
        **{f"acct-{i}": StoreRecordMeta(f"client-r{i}", CREATED) for i in range(8)},
        "acct-8": StoreRecordMeta("client-d", "2026-12-01T10:00:00+00:00"),
        "acct-9": None,
        "acct-10": None,
    }
    assert list(facts) == [r.name for r in desired.of_kind(SERVICE_ACCOUNT)]  # its order
    assert remote.most == 4
    assert all(name.startswith("certgov-store") for name in remote.threads)
    sequential = RemoteStore()
    assert store_facts(desired, {**stores, "vault": sequential}) == facts
    assert sequential.most == 1


def test_a_snapshots_records_are_taken_without_reading_the_store() -> None:
    remote = RemoteStore()
    desired = _accounts(("vault", "a"), ("vault", "b"))
    known = {"vault:a": StoreRecordMeta("from-snapshot", None)}
    assert store_facts(desired, {"vault": remote}, known, parallelism=8) == {
        "acct-0": StoreRecordMeta("from-snapshot", None),
        "acct-1": StoreRecordMeta("client-b", CREATED),
    }
    assert remote.paths == ["b"]
