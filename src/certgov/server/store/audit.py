"""The audit log (contract §5.2): an append-only hash chain, and its head."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Connection, and_, func, insert, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from certgov.server.audit import AuditRecord, event_document
from certgov.server.store import schema as t
from certgov.server.store.base import SqlArea, json_value
from certgov.server.store.errors import AuditUnavailable


@dataclass(frozen=True)
class AuditFilter:
    """The filters of `GET /service/audit-events` (contract §5.2)."""

    type: str | None = None
    since: str | None = None
    until: str | None = None
    service_account: str | None = None
    policy_id: str | None = None
    outcome: str | None = None


class ChainHead(NamedTuple):
    """The last event's id and hash (0 and GENESIS before the first event)."""

    last_id: int
    last_hash: str


class AuditLog(Protocol):
    """The audit log, the one place that reads or writes events and the chain's head.

    Events are the documents the API serves (`certgov.server.audit.event_document`). `append`
    gives each event the next id (1, 2, ... with no gap) and the head's hash as its
    `prev_hash`, and moves the head, all in the caller's transaction, so that an event commits
    or rolls back with the change it records. Appends are serialised: two transactions never
    read the same head. When the event cannot be written, `append` raises `AuditUnavailable`;
    the caller lets it propagate, so that the change it audits does not happen either. Nothing
    changes or deletes an event.
    """

    def append(self, record: AuditRecord, occurred_at: str) -> dict[str, Any]:
        """Add the event to the chain, its hash keyed by the store's audit key (without one:
        `AuditUnavailable`); answer it as served."""

    def get(self, event_id: int) -> dict[str, Any] | None:
        """The event, or None."""

    def page(self, flt: AuditFilter, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Up to `limit` matching events, newest first from `offset`, and how many match."""

    def in_order(self, batch: int = 1000) -> Iterator[dict[str, Any]]:
        """Every event in id order, read `batch` at a time."""

    def head(self) -> ChainHead:
        """The head of the chain as stored."""


class SqlAuditLog(SqlArea, AuditLog):
    def __init__(self, conn: Connection, key: bytes | None) -> None:
        super().__init__(conn)
        self.key = key

    def append(self, record: AuditRecord, occurred_at: str) -> dict[str, Any]:
        if self.key is None:
            raise AuditUnavailable()
        try:
            # FOR UPDATE locks the head on PostgreSQL; on SQLite, BEGIN IMMEDIATE already holds
            # the database's write lock.
            head = self.conn.execute(
                select(t.chain_head.c.last_id, t.chain_head.c.last_hash)
                .where(t.chain_head.c.id == 1)
                .with_for_update()
            ).one()
            next_id = int(head.last_id) + 1
            doc = event_document(record, next_id, occurred_at, str(head.last_hash), self.key)
            target = record.target
            self.conn.execute(
                insert(t.audit_events).values(
                    id=doc["id"],
                    type=doc["type"],
                    occurred_at=occurred_at,
                    actor_uuid=record.actor.service_account,
                    actor_name=record.actor.name,
                    actor_ip=record.actor.ip,
                    target_kind=target.kind if target else None,
                    target_id=target.id if target else None,
                    target_name=target.name if target else None,
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

    def page(self, flt: AuditFilter, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
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
        return [_event(r._mapping) for r in rows], int(total)

    def get(self, event_id: int) -> dict[str, Any] | None:
        ev = t.audit_events
        row = self.conn.execute(select(ev).where(ev.c.id == event_id)).one_or_none()
        return None if row is None else _event(row._mapping)

    def in_order(self, batch: int = 1000) -> Iterator[dict[str, Any]]:
        ev = t.audit_events
        last = 0
        while True:
            rows = list(
                self.conn.execute(select(ev).where(ev.c.id > last).order_by(ev.c.id).limit(batch))
            )
            if not rows:
                return
            for r in rows:
                yield _event(r._mapping)
            last = int(rows[-1].id)

    def head(self) -> ChainHead:
        row = self.conn.execute(
            select(t.chain_head.c.last_id, t.chain_head.c.last_hash).where(t.chain_head.c.id == 1)
        ).one()
        return ChainHead(int(row.last_id), str(row.last_hash))


def _event(row: Mapping[Any, Any]) -> dict[str, Any]:
    target = None
    if row["target_kind"] is not None:
        target = {"kind": row["target_kind"], "id": row["target_id"], "name": row["target_name"]}
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
        "details": json_value(row["details"]),
        "prev_hash": row["prev_hash"],
        "hash": row["hash"],
    }
