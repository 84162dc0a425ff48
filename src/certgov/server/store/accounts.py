"""Service accounts (contract §5.1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol, TypedDict, cast

from sqlalchemy import delete, func, insert, select, update

from certgov.server.store import schema as t
from certgov.server.store.base import SqlArea, attempt, decoded, keyed, revise
from certgov.server.store.errors import NameTaken


class Account(TypedDict):
    """A stored account: the contract's object, its secret's digest and its revision."""

    uuid: str
    client_id: str
    name: str
    description: str
    scopes: list[str]
    ip_allowlist: list[str]
    expires_at: str | None
    is_active: bool
    secret_digest: str
    secret_created_at: str
    last_used_at: str | None
    created_at: str
    updated_at: str
    revision: int


class Credentials(NamedTuple):
    """What a login compares, and names in its audit event."""

    uuid: str
    name: str
    client_id: str
    secret_digest: str


class Accounts(Protocol):
    """Service accounts by uuid, the one place that reads or writes their rows.

    Names are unique, two names equal after NFKC case folding being the same name
    (`certgov.rules.names.name_key`): a write that would repeat one raises `NameTaken` and
    changes nothing, whoever else writes at the same time (a unique index decides).
    `revision` starts at the value inserted and every `update` adds one to it, so that it can
    serve as the object's ETag; `touch` records a login without a new revision, because the
    ETag guards the managed fields only.
    """

    def get(self, uuid: str) -> Account | None:
        """The account, or None."""

    def lock(self, uuid: str) -> Credentials | None:
        """What a login compares of the account, its row locked until the transaction ends, or
        None: transactions that lock one account take turns, so that what one reads of it (its
        failed logins, say) no other changes before it commits. (SQLite's writers hold the whole
        database from BEGIN IMMEDIATE: there, every write transaction takes its turn already.)
        Three short strings, nothing decoded: a known uuid costs no more here than an unknown."""

    def page(self, offset: int, limit: int) -> tuple[list[Account], int]:
        """Up to `limit` accounts in name order from `offset`, and how many there are."""

    def insert(self, values: Mapping[str, Any]) -> Account:
        """Add an account from all its column values; answer it as stored."""

    def update(self, uuid: str, changes: Mapping[str, Any]) -> Account:
        """Change some columns and bump the revision; answer the account as stored."""

    def touch(self, uuid: str, last_used_at: str) -> None:
        """Record a successful login."""

    def delete(self, uuid: str) -> None:
        """Remove the account with its sessions and login failures."""


class SqlAccounts(SqlArea, Accounts):
    def get(self, uuid: str) -> Account | None:
        accounts = t.service_accounts
        row = self.conn.execute(select(accounts).where(accounts.c.uuid == uuid)).one_or_none()
        return None if row is None else _account(row._mapping)

    def lock(self, uuid: str) -> Credentials | None:
        a = t.service_accounts
        row = self.conn.execute(
            select(a.c.name, a.c.client_id, a.c.secret_digest)
            .where(a.c.uuid == uuid)
            .with_for_update()
        ).one_or_none()
        return None if row is None else Credentials(uuid, *row)

    def page(self, offset: int, limit: int) -> tuple[list[Account], int]:
        accounts = t.service_accounts
        total = self.conn.execute(select(func.count()).select_from(accounts)).scalar_one()
        rows = self.conn.execute(
            select(accounts).order_by(accounts.c.name).offset(offset).limit(limit)
        )
        return [_account(r._mapping) for r in rows], int(total)

    def insert(self, values: Mapping[str, Any]) -> Account:
        if attempt(self.conn, insert(t.service_accounts).values(**keyed(values))) is None:
            raise NameTaken("service account", values["name"])
        return self._stored(str(values["uuid"]))

    def update(self, uuid: str, changes: Mapping[str, Any]) -> Account:
        accounts = t.service_accounts
        if not revise(self.conn, accounts, accounts.c.uuid == uuid, changes):
            raise NameTaken("service account", changes.get("name"))
        return self._stored(uuid)

    def touch(self, uuid: str, last_used_at: str) -> None:
        accounts = t.service_accounts
        self.conn.execute(
            update(accounts).where(accounts.c.uuid == uuid).values(last_used_at=last_used_at)
        )

    def delete(self, uuid: str) -> None:
        # The account's row first, as a login takes it, before the rows a login also changes:
        # taken the other way round, the two would wait for each other.
        self.lock(uuid)
        self.conn.execute(delete(t.sessions).where(t.sessions.c.account_uuid == uuid))
        self.conn.execute(delete(t.login_failures).where(t.login_failures.c.login_uuid == uuid))
        self.conn.execute(delete(t.service_accounts).where(t.service_accounts.c.uuid == uuid))

    def _stored(self, uuid: str) -> Account:
        account = self.get(uuid)
        assert account is not None
        return account


def _account(row: Mapping[Any, Any]) -> Account:
    return cast(Account, decoded(row, ("scopes", "ip_allowlist"), "is_active"))
