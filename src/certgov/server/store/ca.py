"""The server's local certificate authority (contract §5.3), one per database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import insert, select

from certgov.server.store import schema as t
from certgov.server.store.base import SqlArea, attempt


@dataclass(frozen=True)
class StoredCA:
    """The CA's private key and certificate, PEM-encoded."""

    key_pem: str
    cert_pem: str


class CertificateAuthority(Protocol):
    """The one CA of the database, the one place that reads or writes it.

    The first process to start makes the CA; when several start at once, `put` keeps the first
    one stored and answers False to the others, which then read that one. Nothing replaces it.
    """

    def get(self) -> StoredCA | None:
        """The CA, or None before the first start."""

    def put(self, ca: StoredCA) -> bool:
        """Store the CA unless one is stored already; True when this one was kept."""


class SqlCertificateAuthority(SqlArea, CertificateAuthority):
    def get(self) -> StoredCA | None:
        ca = t.certificate_authority
        row = self.conn.execute(
            select(ca.c.key_pem, ca.c.cert_pem).where(ca.c.id == 1)
        ).one_or_none()
        return None if row is None else StoredCA(str(row.key_pem), str(row.cert_pem))

    def put(self, ca: StoredCA) -> bool:
        statement = insert(t.certificate_authority).values(
            id=1, key_pem=ca.key_pem, cert_pem=ca.cert_pem
        )
        return attempt(self.conn, statement) is not None
