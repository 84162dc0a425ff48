"""Idempotency keys (contract §5.4): the first answer to each key, kept for replays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import delete, insert, select

from certgov.server.store import schema as t
from certgov.server.store.base import SqlArea, attempt, json_value


@dataclass(frozen=True)
class StoredAnswer:
    """An answer kept under a key, with the digest of the request that produced it."""

    request_digest: str
    status: int
    response: dict[str, Any]


class IdempotencyKeys(Protocol):
    """Answers by (calling account, Idempotency-Key), the one place that reads or writes them.

    A key holds at most one answer: `put` never replaces one, and answers False when the key
    is taken (e.g. by a concurrent request that committed first). Answers recorded at or
    before `expired_before` are dropped by `put` and no longer count; `get` sees only those
    recorded after `since`. What to do with a replay is the caller's business.
    """

    def get(self, account_uuid: str, key: str, since: str) -> StoredAnswer | None:
        """The answer recorded under the key after `since`, or None."""

    def put(
        self, account_uuid: str, key: str, answer: StoredAnswer, at: str, expired_before: str
    ) -> bool:
        """Record the answer at `at`; False when the key holds a live answer already."""


class SqlIdempotencyKeys(SqlArea, IdempotencyKeys):
    def get(self, account_uuid: str, key: str, since: str) -> StoredAnswer | None:
        keys = t.idempotency_keys
        row = self.conn.execute(
            select(keys.c.request_digest, keys.c.status, keys.c.response).where(
                keys.c.account_uuid == account_uuid, keys.c.key == key, keys.c.created_at > since
            )
        ).one_or_none()
        if row is None:
            return None
        return StoredAnswer(str(row.request_digest), int(row.status), json_value(row.response))

    def put(
        self, account_uuid: str, key: str, answer: StoredAnswer, at: str, expired_before: str
    ) -> bool:
        keys = t.idempotency_keys
        self.conn.execute(delete(keys).where(keys.c.created_at <= expired_before))
        statement = insert(keys).values(
            account_uuid=account_uuid,
            key=key,
            request_digest=answer.request_digest,
            status=answer.status,
            response=answer.response,
            created_at=at,
        )
        return attempt(self.conn, statement) is not None
