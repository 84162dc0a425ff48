"""Failed logins per account: what the lockout rule (contract §1, 429) counts."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import delete, insert, select

from certgov.server.store import schema as t
from certgov.server.store.base import SqlArea


class LoginFailures(Protocol):
    """The times of an account's failed logins, the one place that reads or writes them.

    The lockout rule itself (how many failures in which window) is the caller's: the store
    answers the failures after a moment and forgets them on `clear` (a successful login) or
    with the account.
    """

    def since(self, account_uuid: str, since: str) -> list[str]:
        """The times of the account's failures after `since`, oldest first."""

    def add(self, account_uuid: str, at: str) -> None:
        """Record one failure."""

    def clear(self, account_uuid: str) -> None:
        """Forget the account's failures."""


class SqlLoginFailures(SqlArea, LoginFailures):
    def since(self, account_uuid: str, since: str) -> list[str]:
        failures = t.login_failures
        rows = self.conn.execute(
            select(failures.c.at)
            .where(failures.c.account_uuid == account_uuid, failures.c.at > since)
            .order_by(failures.c.at)
        ).scalars()
        return [str(at) for at in rows]

    def add(self, account_uuid: str, at: str) -> None:
        self.conn.execute(insert(t.login_failures).values(account_uuid=account_uuid, at=at))

    def clear(self, account_uuid: str) -> None:
        failures = t.login_failures
        self.conn.execute(delete(failures).where(failures.c.account_uuid == account_uuid))
