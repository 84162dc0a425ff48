"""Sessions (contract §3), stored by the digest of their bearer token, never the token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import insert, select, update

from certgov.server.store import schema as t
from certgov.server.store.base import SqlArea


@dataclass(frozen=True)
class Session:
    """A stored session; times are RFC 3339 UTC strings."""

    token_digest: str
    account_uuid: str
    created_at: str
    expires_at: str
    revoked_at: str | None


class Sessions(Protocol):
    """Sessions by the digest of their token, the one place that reads or writes them.

    A session is never extended nor revived: nothing changes `expires_at`, and nothing clears
    `revoked_at` once `revoke` or `revoke_all` set it. Whether a session is still usable (its
    expiry, its account's state) is the caller's rule; the store keeps revoked and expired
    sessions alike.
    """

    def insert(
        self, token_digest: str, account_uuid: str, created_at: str, expires_at: str
    ) -> None:
        """Add a live session."""

    def get(self, token_digest: str) -> Session | None:
        """The session, revoked or expired ones included, or None."""

    def revoke(self, token_digest: str, at: str) -> None:
        """Revoke one session."""

    def revoke_all(self, account_uuid: str, at: str) -> int:
        """Revoke the account's sessions not yet revoked; answer how many."""


class SqlSessions(SqlArea, Sessions):
    def insert(
        self, token_digest: str, account_uuid: str, created_at: str, expires_at: str
    ) -> None:
        self.conn.execute(
            insert(t.sessions).values(
                token_digest=token_digest,
                account_uuid=account_uuid,
                created_at=created_at,
                expires_at=expires_at,
            )
        )

    def get(self, token_digest: str) -> Session | None:
        sessions = t.sessions
        row = self.conn.execute(
            select(sessions).where(sessions.c.token_digest == token_digest)
        ).one_or_none()
        return None if row is None else Session(**row._mapping)

    def revoke(self, token_digest: str, at: str) -> None:
        sessions = t.sessions
        self.conn.execute(
            update(sessions).where(sessions.c.token_digest == token_digest).values(revoked_at=at)
        )

    def revoke_all(self, account_uuid: str, at: str) -> int:
        sessions = t.sessions
        result = self.conn.execute(
            update(sessions)
            .where(sessions.c.account_uuid == account_uuid, sessions.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return int(result.rowcount)
