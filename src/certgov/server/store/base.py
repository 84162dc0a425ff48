"""What the areas' SQLAlchemy implementations share."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, Connection, CursorResult, Executable, Table, update
from sqlalchemy.exc import IntegrityError

from certgov.rules.names import name_key


class SqlArea:
    """An area's statements, run on the connection of the transaction that made it."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn


def json_value(value: Any) -> Any:
    """A JSON column's value: some drivers hand it back as text."""
    return json.loads(value) if isinstance(value, str) else value


def decoded(row: Mapping[Any, Any], json_columns: Iterable[str], flag: str) -> dict[str, Any]:
    """A row as a dict, with its JSON columns as values and its `flag` column as a bool; without
    its `name_key`, which only the database's unique index reads."""
    out = dict(row)
    out.pop("name_key", None)
    for column in json_columns:
        out[column] = json_value(out[column])
    out[flag] = bool(out[flag])
    return out


def keyed(values: Mapping[str, Any]) -> dict[str, Any]:
    """Column values with the `name_key` of their `name`, when they set one."""
    out = dict(values)
    if "name" in out:
        out["name_key"] = name_key(out["name"])
    return out


def attempt(conn: Connection, statement: Executable) -> CursorResult[Any] | None:
    """Run `statement` in a savepoint; None when it breaks a constraint, which then undoes only
    the statement and leaves the transaction usable."""
    try:
        with conn.begin_nested():
            return conn.execute(statement)
    except IntegrityError:
        return None


def revise(
    conn: Connection, table: Table, row: ColumnElement[bool], changes: Mapping[str, Any]
) -> bool:
    """Change some columns of a row and add one to its `revision` (what its ETag is made of);
    False, and nothing changed, when that breaks a constraint."""
    statement = update(table).where(row).values(revision=table.c.revision + 1, **keyed(changes))
    return attempt(conn, statement) is not None
