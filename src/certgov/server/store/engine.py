"""The store's engines: connecting, creating the schema, and handing out transactions."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from certgov.server.audit import GENESIS
from certgov.server.files import create_private, refuse_open_file
from certgov.server.security import new_server_key
from certgov.server.store import schema as t
from certgov.server.store.base import attempt
from certgov.server.store.keys import CLIENT_SECRET_KEY
from certgov.server.store.tx import Tx

_DATABASE_HOLDS = "the CA's private key and the key of the secret digests"


def _private_sqlite(path: Path) -> None:
    """Create the database file 0600 when it is missing (SQLite gives its -wal and -shm the
    mode of the database file); refuse to open one that other users may read, with the fix."""
    create_private(path)
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        refuse_open_file(file, "the database file", _DATABASE_HOLDS)


def _sqlite_setup(engine: Engine, *, read_only: bool = False) -> None:
    """WAL for concurrent readers; BEGIN IMMEDIATE so that writers queue instead of failing.

    A `read_only` engine's connections refuse writes and begin deferred: in WAL mode they read a
    snapshot without taking the write lock, so reads never wait for writers nor writers for them.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let the "begin" hook below issue BEGIN itself
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class Store:
    """The database behind the server: its engines and transactions. Opening one touches no
    table: `create_schema` is an explicit step (the app factory, bootstrap and the CLI take it).

    `audit_key` keys the audit chain (contract §5.2); a store opened without it reads the log
    but cannot add to it (`certgov.server.auditkey.keyed_store` opens one with it).
    """

    def __init__(self, url: str, audit_key: bytes | None = None) -> None:
        self.audit_key = audit_key
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            if parsed.database in (None, "", ":memory:"):
                raise ValueError("the SQLite database must be a file: sqlite:///path.db")
            _private_sqlite(Path(parsed.database))
            self.engine = create_engine(parsed)
            _sqlite_setup(self.engine)
            self.read_engine = create_engine(parsed)
            _sqlite_setup(self.read_engine, read_only=True)
            # One writer at a time within this process, queued on a lock that wakes the next
            # writer at once (SQLite's busy handler polls with sleeps of up to 100 ms); other
            # processes on the same file still queue through the busy handler.
            self._writer: AbstractContextManager[Any] = threading.Lock()
        else:
            self.engine = create_engine(parsed, pool_pre_ping=True)
            self.read_engine = self.engine
            self._writer = nullcontext()

    def create_schema(self) -> None:
        """Create missing tables, the indexes a later version added to existing ones, and the
        singleton rows; a second call keeps everything."""
        try:
            self._create_missing()
        except SQLAlchemyError:
            # Another process created them between our check and our CREATE.
            self._create_missing()
        with self.engine.begin() as conn:
            _insert_missing(conn, t.chain_head, {"id": 1, "last_id": 0, "last_hash": GENESIS})
            _insert_missing(conn, t.policy_version, {"id": 1, "version": 0})
            _insert_missing(
                conn, t.server_keys, {"name": CLIENT_SECRET_KEY, "value": new_server_key()}
            )

    def _create_missing(self) -> None:
        t.metadata.create_all(self.engine)  # a table's indexes only with the table
        for table in t.metadata.sorted_tables:
            for index in table.indexes:
                index.create(self.engine, checkfirst=True)

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """A transaction that commits when the block ends and rolls back if it raises."""
        with self._writer, self.engine.begin() as conn:
            yield Tx(conn, self.audit_key)

    @contextmanager
    def reading(self) -> Iterator[Tx]:
        """A transaction that only reads (writes in it fail): one consistent snapshot, which on
        SQLite neither waits for nor holds up the writers."""
        with self.read_engine.begin() as conn:
            yield Tx(conn, self.audit_key)

    def close(self) -> None:
        self.engine.dispose()
        self.read_engine.dispose()


def _insert_missing(conn: Connection, table: Table, values: Mapping[str, Any]) -> None:
    """Insert the row unless its key is there; a concurrent insert by another process stands."""
    pk = next(iter(table.primary_key.columns))
    if conn.execute(select(pk).where(pk == values[pk.name])).first() is None:
        attempt(conn, insert(table).values(**values))
