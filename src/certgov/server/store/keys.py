"""The keys the server makes for itself and keeps in its database."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import select

from certgov.server.store import schema as t
from certgov.server.store.base import SqlArea

CLIENT_SECRET_KEY = "client_secret_hmac"  # noqa: S105 (the name of a key, not a key)


class ServerKeys(Protocol):
    """Named keys, made once by `Store.create_schema` and kept by every later start.

    `CLIENT_SECRET_KEY` keys the digests of client secrets: replacing it makes every stored
    secret digest unusable, so nothing here changes a key once it exists.
    """

    def get(self, name: str) -> str:
        """The key's value (the schema's creation made it)."""


class SqlServerKeys(SqlArea, ServerKeys):
    def get(self, name: str) -> str:
        keys = t.server_keys
        return str(self.conn.execute(select(keys.c.value).where(keys.c.name == name)).scalar_one())
