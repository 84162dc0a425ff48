"""The transaction object: every area of the store, on one connection."""

from __future__ import annotations

from sqlalchemy import Connection

from certgov.server.store.accounts import Accounts, SqlAccounts
from certgov.server.store.audit import AuditLog, SqlAuditLog
from certgov.server.store.ca import CertificateAuthority, SqlCertificateAuthority
from certgov.server.store.idempotency import IdempotencyKeys, SqlIdempotencyKeys
from certgov.server.store.keys import ServerKeys, SqlServerKeys
from certgov.server.store.login_failures import LoginFailures, SqlLoginFailures
from certgov.server.store.policies import Policies, SqlPolicies
from certgov.server.store.sessions import Sessions, SqlSessions


class Tx:
    """One database transaction, reached through its areas (`tx.accounts.get(uuid)`,
    `tx.audit.append(...)`): a write and its audit event share it, so they commit or roll back
    together."""

    def __init__(self, conn: Connection, audit_key: bytes | None = None) -> None:
        self.conn = conn
        self.keys: ServerKeys = SqlServerKeys(conn)
        self.accounts: Accounts = SqlAccounts(conn)
        self.sessions: Sessions = SqlSessions(conn)
        self.login_failures: LoginFailures = SqlLoginFailures(conn)
        self.audit: AuditLog = SqlAuditLog(conn, audit_key)
        self.idempotency: IdempotencyKeys = SqlIdempotencyKeys(conn)
        self.policies: Policies = SqlPolicies(conn)
        self.ca: CertificateAuthority = SqlCertificateAuthority(conn)
