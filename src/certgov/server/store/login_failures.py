"""Failed logins: what the lockout rule (contract §1, 429) counts."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import delete, insert, select

from certgov.server.store import schema as t
from certgov.server.store.base import SqlArea


class LoginFailures(Protocol):
    """The times of failed logins by the uuid they named, the one place that reads or writes them.

    A failure is recorded whether or not an account has the uuid, so that a wrong secret does
    the same work either way (a known uuid must not answer measurably slower). The lockout rule
    itself (how many failures in which window) is the caller's: the store answers the failures
    after a moment and forgets them on `clear` (a successful login, a deleted account).
    """

    def since(self, uuid: str, since: str) -> list[str]:
        """The times of the uuid's failures after `since`, oldest first."""

    def add(self, uuid: str, at: str) -> None:
        """Record one failure."""

    def clear(self, uuid: str) -> None:
        """Forget the uuid's failures."""


class SqlLoginFailures(SqlArea, LoginFailures):
    def since(self, uuid: str, since: str) -> list[str]:
        failures = t.login_failures
        rows = self.conn.execute(
            select(failures.c.at)
            .where(failures.c.login_uuid == uuid, failures.c.at > since)
            .order_by(failures.c.at)
        ).scalars()
        return [str(at) for at in rows]

    def add(self, uuid: str, at: str) -> None:
        self.conn.execute(insert(t.login_failures).values(login_uuid=uuid, at=at))

    def clear(self, uuid: str) -> None:
        failures = t.login_failures
        self.conn.execute(delete(failures).where(failures.c.login_uuid == uuid))
