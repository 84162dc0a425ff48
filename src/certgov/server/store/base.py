"""What the areas' SQLAlchemy implementations share."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, CursorResult, Executable
from sqlalchemy.exc import IntegrityError


class SqlArea:
    """An area's statements, run on the connection of the transaction that made it."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn


def json_value(value: Any) -> Any:
    """A JSON column's value: some drivers hand it back as text."""
    return json.loads(value) if isinstance(value, str) else value


def attempt(conn: Connection, statement: Executable) -> CursorResult[Any] | None:
    """Run `statement` in a savepoint; None when it breaks a constraint, which then undoes only
    the statement and leaves the transaction usable."""
    try:
        with conn.begin_nested():
            return conn.execute(statement)
    except IntegrityError:
        return None
