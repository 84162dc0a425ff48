"""All of the server's SQL.

`Store` owns the engine; `Store.transaction()` yields a `Tx`, whose methods are the only way the
rest of the server reads or writes the database. A write and its audit event go through the same
`Tx`, so they commit or roll back together. `Tx.append_audit` serialises appends to the hash chain
by locking the single `chain_head` row (`SELECT ... FOR UPDATE` on PostgreSQL; on SQLite every
transaction starts with `BEGIN IMMEDIATE`, which takes the database's write lock).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    ScalarResult,
    Select,
    and_,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from certgov.server.audit import GENESIS, AuditRecord, event_document
from certgov.server.security import new_server_key
from certgov.server.store import schema as t
from certgov.server.store.errors import AuditUnavailable, NameTaken

__all__ = ["AuditFilter", "Store", "Tx"]

SECRET_KEY_NAME = "client_secret_hmac"  # noqa: S105 (the name of a key, not a key)

MAX_ID = 2**31 - 1
"""The largest id an `Integer` id column holds on every backend (PostgreSQL's `integer`)."""


@dataclass(frozen=True)
class AuditFilter:
    """The filters of `GET /service/audit-events` (contract §5.2)."""

    type: str | None = None
    since: str | None = None
    until: str | None = None
    service_account: str | None = None
    policy_id: str | None = None
    outcome: str | None = None


def _json_value(value: Any) -> Any:
    # Some drivers hand JSON columns back as text; normalise to Python values.
    return json.loads(value) if isinstance(value, str) else value


class Tx:
    """One database transaction, with the server's operations on it."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- server keys ---------------------------------------------------------------------------

    def server_key(self, name: str = SECRET_KEY_NAME) -> str:
        value = self.conn.execute(
            select(t.server_keys.c.value).where(t.server_keys.c.name == name)
        ).scalar_one()
        return str(value)

    # -- service accounts ----------------------------------------------------------------------

    def get_account(self, uuid: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            select(t.service_accounts).where(t.service_accounts.c.uuid == uuid)
        ).one_or_none()
        return None if row is None else self._account(row._mapping)

    def list_accounts(self, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        total = self.conn.execute(select(func.count()).select_from(t.service_accounts)).scalar_one()
        rows = self.conn.execute(
            select(t.service_accounts)
            .order_by(t.service_accounts.c.name)
            .offset(offset)
            .limit(limit)
        )
        return [self._account(r._mapping) for r in rows], int(total)

    def insert_account(self, values: Mapping[str, Any]) -> dict[str, Any]:
        try:
            with self.conn.begin_nested():
                self.conn.execute(insert(t.service_accounts).values(**values))
        except IntegrityError:
            raise NameTaken("service account", values["name"]) from None
        account = self.get_account(str(values["uuid"]))
        assert account is not None
        return account

    def update_account(self, uuid: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Change fields and bump the revision (and so the ETag)."""
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    update(t.service_accounts)
                    .where(t.service_accounts.c.uuid == uuid)
                    .values(revision=t.service_accounts.c.revision + 1, **values)
                )
        except IntegrityError:
            raise NameTaken("service account", values.get("name")) from None
        account = self.get_account(uuid)
        assert account is not None
        return account

    def touch_account(self, uuid: str, last_used_at: str) -> None:
        """Record a login; not a change of the object's managed fields, so no new revision."""
        self.conn.execute(
            update(t.service_accounts)
            .where(t.service_accounts.c.uuid == uuid)
            .values(last_used_at=last_used_at)
        )

    def delete_account(self, uuid: str) -> None:
        self.conn.execute(delete(t.sessions).where(t.sessions.c.account_uuid == uuid))
        self.conn.execute(delete(t.login_failures).where(t.login_failures.c.account_uuid == uuid))
        self.conn.execute(delete(t.service_accounts).where(t.service_accounts.c.uuid == uuid))

    @staticmethod
    def _account(row: Mapping[Any, Any]) -> dict[str, Any]:
        out = dict(row)
        out["scopes"] = _json_value(out["scopes"])
        out["ip_allowlist"] = _json_value(out["ip_allowlist"])
        out["is_active"] = bool(out["is_active"])
        return out

    # -- sessions ------------------------------------------------------------------------------

    def insert_session(self, digest: str, uuid: str, created_at: str, expires_at: str) -> None:
        self.conn.execute(
            insert(t.sessions).values(
                token_digest=digest, account_uuid=uuid, created_at=created_at, expires_at=expires_at
            )
        )

    def get_session(self, digest: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            select(t.sessions).where(t.sessions.c.token_digest == digest)
        ).one_or_none()
        return None if row is None else dict(row._mapping)

    def revoke_session(self, digest: str, at: str) -> None:
        self.conn.execute(
            update(t.sessions).where(t.sessions.c.token_digest == digest).values(revoked_at=at)
        )

    def revoke_sessions(self, uuid: str, at: str) -> int:
        result = self.conn.execute(
            update(t.sessions)
            .where(t.sessions.c.account_uuid == uuid, t.sessions.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return int(result.rowcount)

    # -- login failures (lockout) --------------------------------------------------------------

    def login_failures_since(self, uuid: str, since: str) -> list[str]:
        rows: ScalarResult[str] = self.conn.execute(
            select(t.login_failures.c.at)
            .where(t.login_failures.c.account_uuid == uuid, t.login_failures.c.at > since)
            .order_by(t.login_failures.c.at)
        ).scalars()
        return list(rows)

    def add_login_failure(self, uuid: str, at: str) -> None:
        self.conn.execute(insert(t.login_failures).values(account_uuid=uuid, at=at))

    def clear_login_failures(self, uuid: str) -> None:
        self.conn.execute(delete(t.login_failures).where(t.login_failures.c.account_uuid == uuid))

    # -- audit log -----------------------------------------------------------------------------

    def append_audit(self, record: AuditRecord, occurred_at: str) -> dict[str, Any]:
        """Append one event to the chain, or raise AuditUnavailable (the caller's transaction
        then rolls back, so the change it audits does not happen either)."""
        try:
            head = self.conn.execute(
                select(t.chain_head.c.last_id, t.chain_head.c.last_hash)
                .where(t.chain_head.c.id == 1)
                .with_for_update()
            ).one()
            doc = event_document(record, int(head.last_id) + 1, occurred_at, str(head.last_hash))
            self.conn.execute(
                insert(t.audit_events).values(
                    id=doc["id"],
                    type=doc["type"],
                    occurred_at=occurred_at,
                    actor_uuid=record.actor.service_account,
                    actor_name=record.actor.name,
                    actor_ip=record.actor.ip,
                    target_kind=record.target.kind if record.target else None,
                    target_id=record.target.id if record.target else None,
                    target_name=record.target.name if record.target else None,
                    outcome=record.outcome,
                    code=record.code,
                    details=doc["details"],
                    prev_hash=doc["prev_hash"],
                    hash=doc["hash"],
                )
            )
            self.conn.execute(
                update(t.chain_head)
                .where(t.chain_head.c.id == 1)
                .values(last_id=doc["id"], last_hash=doc["hash"])
            )
        except SQLAlchemyError:
            raise AuditUnavailable() from None
        return doc

    def list_audit(
        self, flt: AuditFilter, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        ev = t.audit_events
        conds = []
        if flt.type is not None:
            conds.append(ev.c.type == flt.type)
        if flt.since is not None:
            conds.append(ev.c.occurred_at >= flt.since)
        if flt.until is not None:
            conds.append(ev.c.occurred_at <= flt.until)
        if flt.outcome is not None:
            conds.append(ev.c.outcome == flt.outcome)
        if flt.service_account is not None:
            conds.append(
                or_(
                    ev.c.actor_uuid == flt.service_account,
                    and_(
                        ev.c.target_kind == "service_account",
                        ev.c.target_id == flt.service_account,
                    ),
                )
            )
        if flt.policy_id is not None:
            conds.append(and_(ev.c.target_kind == "policy", ev.c.target_id == flt.policy_id))
        total = self.conn.execute(select(func.count()).select_from(ev).where(*conds)).scalar_one()
        rows = self.conn.execute(
            select(ev).where(*conds).order_by(ev.c.id.desc()).offset(offset).limit(limit)
        )
        return [self._event(r._mapping) for r in rows], int(total)

    def iter_audit(self, batch: int = 1000) -> Iterator[dict[str, Any]]:
        """Every event in id order, read in batches."""
        last = 0
        while True:
            rows = list(
                self.conn.execute(
                    select(t.audit_events)
                    .where(t.audit_events.c.id > last)
                    .order_by(t.audit_events.c.id)
                    .limit(batch)
                )
            )
            if not rows:
                return
            for r in rows:
                yield self._event(r._mapping)
            last = int(rows[-1].id)

    def chain_head(self) -> tuple[int, str]:
        row = self.conn.execute(
            select(t.chain_head.c.last_id, t.chain_head.c.last_hash).where(t.chain_head.c.id == 1)
        ).one()
        return int(row.last_id), str(row.last_hash)

    @staticmethod
    def _event(row: Mapping[Any, Any]) -> dict[str, Any]:
        target = None
        if row["target_kind"] is not None:
            target = {
                "kind": row["target_kind"],
                "id": row["target_id"],
                "name": row["target_name"],
            }
        return {
            "id": int(row["id"]),
            "type": row["type"],
            "occurred_at": row["occurred_at"],
            "actor": {
                "service_account": row["actor_uuid"],
                "name": row["actor_name"],
                "ip": row["actor_ip"],
            },
            "target": target,
            "outcome": row["outcome"],
            "code": row["code"],
            "details": _json_value(row["details"]),
            "prev_hash": row["prev_hash"],
            "hash": row["hash"],
        }

    # -- idempotency keys ----------------------------------------------------------------------

    def get_idempotent(self, uuid: str, key: str, since: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            select(t.idempotency_keys).where(
                t.idempotency_keys.c.account_uuid == uuid,
                t.idempotency_keys.c.key == key,
                t.idempotency_keys.c.created_at > since,
            )
        ).one_or_none()
        if row is None:
            return None
        out = dict(row._mapping)
        out["response"] = _json_value(out["response"])
        return out

    def put_idempotent(
        self,
        uuid: str,
        key: str,
        request_digest: str,
        status: int,
        response: Mapping[str, Any],
        created_at: str,
        expired_before: str,
    ) -> bool:
        """Record an answer; False when a live record for the key exists already. Records older
        than the replay window are dropped here too."""
        self.conn.execute(
            delete(t.idempotency_keys).where(t.idempotency_keys.c.created_at <= expired_before)
        )
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    insert(t.idempotency_keys).values(
                        account_uuid=uuid,
                        key=key,
                        request_digest=request_digest,
                        status=status,
                        response=dict(response),
                        created_at=created_at,
                    )
                )
        except IntegrityError:
            return False
        return True

    # -- policies ------------------------------------------------------------------------------

    def get_policy(self, policy_id: int) -> dict[str, Any] | None:
        if not 1 <= policy_id <= MAX_ID:
            # No such row can exist, and the driver would refuse the number (OverflowError on
            # SQLite past 64 bits, an out-of-range error on PostgreSQL past 32).
            return None
        row = self.conn.execute(
            select(t.policies).where(t.policies.c.id == policy_id)
        ).one_or_none()
        return None if row is None else self._policy(row._mapping)

    def list_policies(
        self, offset: int, limit: int, enabled: bool | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        conds = [] if enabled is None else [t.policies.c.is_enabled == enabled]
        total = self.conn.execute(
            select(func.count()).select_from(t.policies).where(*conds)
        ).scalar_one()
        query: Select[Any] = (
            select(t.policies).where(*conds).order_by(t.policies.c.name, t.policies.c.id)
        )
        if limit:
            query = query.offset(offset).limit(limit)
        rows = self.conn.execute(query)
        return [self._policy(r._mapping) for r in rows], int(total)

    def insert_policy(self, values: Mapping[str, Any]) -> dict[str, Any]:
        try:
            with self.conn.begin_nested():
                new_id = self.conn.execute(
                    insert(t.policies).values(**values).returning(t.policies.c.id)
                ).scalar_one()
        except IntegrityError:
            raise NameTaken("policy", values["name"]) from None
        policy = self.get_policy(int(new_id))
        assert policy is not None
        return policy

    def update_policy(self, policy_id: int, values: Mapping[str, Any]) -> dict[str, Any]:
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    update(t.policies)
                    .where(t.policies.c.id == policy_id)
                    .values(revision=t.policies.c.revision + 1, **values)
                )
        except IntegrityError:
            raise NameTaken("policy", values.get("name")) from None
        policy = self.get_policy(policy_id)
        assert policy is not None
        return policy

    def delete_policy(self, policy_id: int) -> None:
        self.conn.execute(delete(t.policies).where(t.policies.c.id == policy_id))

    @staticmethod
    def _policy(row: Mapping[Any, Any]) -> dict[str, Any]:
        out = dict(row)
        out["matching_criteria"] = _json_value(out["matching_criteria"])
        out["rules"] = _json_value(out["rules"])
        out["is_enabled"] = bool(out["is_enabled"])
        return out

    # -- local certificate authority -----------------------------------------------------------

    def get_ca(self) -> tuple[str, str] | None:
        row = self.conn.execute(
            select(t.certificate_authority.c.key_pem, t.certificate_authority.c.cert_pem).where(
                t.certificate_authority.c.id == 1
            )
        ).one_or_none()
        return None if row is None else (str(row.key_pem), str(row.cert_pem))

    def put_ca(self, key_pem: str, cert_pem: str) -> bool:
        """Store the CA unless another process stored one first; True when this one was kept."""
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    insert(t.certificate_authority).values(id=1, key_pem=key_pem, cert_pem=cert_pem)
                )
        except IntegrityError:
            return False
        return True


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
    table: `create_schema` is an explicit step (the app factory, bootstrap and the CLI take it)."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            if parsed.database in (None, "", ":memory:"):
                raise ValueError("the SQLite database must be a file: sqlite:///path.db")
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
        """Create missing tables and the singleton rows; a second call keeps everything."""
        try:
            t.metadata.create_all(self.engine)
        except SQLAlchemyError:
            # Another process created the tables between our check and our CREATE.
            t.metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            self._insert_missing(conn, t.chain_head, {"id": 1, "last_id": 0, "last_hash": GENESIS})
            self._insert_missing(
                conn, t.server_keys, {"name": SECRET_KEY_NAME, "value": new_server_key()}
            )

    @staticmethod
    def _insert_missing(conn: Connection, table: Any, values: Mapping[str, Any]) -> None:
        pk = next(iter(table.primary_key.columns))
        exists = conn.execute(select(pk).where(pk == values[pk.name])).first()
        if exists is None:
            try:
                with conn.begin_nested():
                    conn.execute(insert(table).values(**values))
            except IntegrityError:
                pass  # inserted concurrently by another process: theirs stands

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """A transaction that commits when the block ends and rolls back if it raises."""
        with self._writer, self.engine.begin() as conn:
            yield Tx(conn)

    @contextmanager
    def reading(self) -> Iterator[Tx]:
        """A transaction that only reads (writes in it fail): one consistent snapshot, which on
        SQLite neither waits for nor holds up the writers."""
        with self.read_engine.begin() as conn:
            yield Tx(conn)

    def close(self) -> None:
        self.engine.dispose()
        self.read_engine.dispose()
