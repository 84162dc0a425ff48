"""Certificate policies (contract §4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypedDict, cast

from sqlalchemy import ColumnElement, delete, func, insert, select, update

from certgov.server.store import schema as t
from certgov.server.store.base import SqlArea, attempt, decoded, keyed, revise
from certgov.server.store.errors import NameTaken

MAX_ID = 2**31 - 1
"""The largest id an `Integer` id column holds on every backend (PostgreSQL's `integer`)."""
VERSION_ROW = 1


class Policy(TypedDict):
    """A stored policy: the contract's object (§4) and its revision."""

    id: int
    name: str
    description: str
    is_enabled: bool
    matching_criteria: dict[str, Any]
    rules: list[dict[str, Any]]
    created_at: str
    updated_at: str
    revision: int


class Policies(Protocol):
    """Policies by integer id, the one place that reads or writes their rows.

    Ids are never reused, so that a new policy inherits no deleted one's ETag or audit history.
    Names are unique, two names equal after NFKC case folding being the same name
    (`certgov.rules.names.name_key`): a write that would repeat one raises `NameTaken` and
    changes nothing, whoever else writes at the same time (a unique index decides).
    Every `update` adds one to `revision`, the object's ETag. Every change of a policy goes
    through `insert`, `update` or `delete`, and each adds one to the `version` of all policies
    in the same transaction: whoever sees the change sees the version move.
    """

    def get(self, policy_id: int) -> Policy | None:
        """The policy, or None (also for an id no row can have)."""

    def page(
        self, offset: int, limit: int, enabled: bool | None = None
    ) -> tuple[list[Policy], int]:
        """Up to `limit` policies in name order from `offset` (only the enabled or disabled
        ones when `enabled` says so), and how many there are."""

    def enabled(self) -> list[Policy]:
        """Every enabled policy, in name order: what issuance evaluates."""

    def version(self) -> int | None:
        """The version of all policies, which every change moves; None when the database has
        no version row (`Store.create_schema` makes it), so that nothing is kept by version."""

    def insert(self, values: Mapping[str, Any]) -> Policy:
        """Add a policy from its column values but the id; answer it as stored."""

    def update(self, policy_id: int, changes: Mapping[str, Any]) -> Policy:
        """Change some columns and bump the revision; answer the policy as stored."""

    def delete(self, policy_id: int) -> None:
        """Remove the policy."""


class SqlPolicies(SqlArea, Policies):
    def get(self, policy_id: int) -> Policy | None:
        if not 1 <= policy_id <= MAX_ID:
            # No such row can exist, and the driver would refuse the number (OverflowError on
            # SQLite past 64 bits, an out-of-range error on PostgreSQL past 32).
            return None
        policies = t.policies
        row = self.conn.execute(select(policies).where(policies.c.id == policy_id)).one_or_none()
        return None if row is None else _policy(row._mapping)

    def page(
        self, offset: int, limit: int, enabled: bool | None = None
    ) -> tuple[list[Policy], int]:
        conds = [] if enabled is None else [t.policies.c.is_enabled == enabled]
        total = self.conn.execute(
            select(func.count()).select_from(t.policies).where(*conds)
        ).scalar_one()
        return self._select(conds, offset, limit), int(total)

    def enabled(self) -> list[Policy]:
        return self._select([t.policies.c.is_enabled.is_(True)])

    def version(self) -> int | None:
        row = t.policy_version
        found = self.conn.execute(select(row.c.version).where(row.c.id == VERSION_ROW))
        value = found.scalar_one_or_none()
        return None if value is None else int(value)

    def insert(self, values: Mapping[str, Any]) -> Policy:
        result = attempt(self.conn, insert(t.policies).values(**keyed(values)))
        if result is None:
            raise NameTaken("policy", values["name"])
        # Not RETURNING: SQLite cannot release the savepoint while its rows are unread.
        key = result.inserted_primary_key
        assert key is not None
        self._bump()
        return self._stored(int(key[0]))

    def update(self, policy_id: int, changes: Mapping[str, Any]) -> Policy:
        policies = t.policies
        if not revise(self.conn, policies, policies.c.id == policy_id, changes):
            raise NameTaken("policy", changes.get("name"))
        self._bump()
        return self._stored(policy_id)

    def delete(self, policy_id: int) -> None:
        self.conn.execute(delete(t.policies).where(t.policies.c.id == policy_id))
        self._bump()

    def _bump(self) -> None:
        # On PostgreSQL the row stays locked until commit: policy writers queue here, and no
        # two changes can leave the same version behind.
        row = t.policy_version
        self.conn.execute(
            update(row).where(row.c.id == VERSION_ROW).values(version=row.c.version + 1)
        )

    def _select(
        self, conds: list[ColumnElement[bool]], offset: int | None = None, limit: int | None = None
    ) -> list[Policy]:
        policies = t.policies
        query = select(policies).where(*conds).order_by(policies.c.name, policies.c.id)
        rows = self.conn.execute(query.offset(offset).limit(limit))
        return [_policy(r._mapping) for r in rows]

    def _stored(self, policy_id: int) -> Policy:
        policy = self.get(policy_id)
        assert policy is not None
        return policy


def _policy(row: Mapping[Any, Any]) -> Policy:
    return cast(Policy, decoded(row, ("matching_criteria", "rules"), "is_enabled"))
