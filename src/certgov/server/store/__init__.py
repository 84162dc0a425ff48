"""All of the server's SQL, split by area.

`Store` (engine.py) owns the engines; `Store.transaction()` and `Store.reading()` yield a `Tx`
(tx.py), whose areas are the only way the rest of the server reads or writes the database:

    tx.keys            keys.py            the server's own keys (the client-secret HMAC key)
    tx.accounts        accounts.py        service accounts
    tx.sessions        sessions.py        sessions, by token digest
    tx.login_failures  login_failures.py  failed logins, counted by the lockout rule
    tx.audit           audit.py           the audit log's hash chain
    tx.idempotency     idempotency.py     answers kept under Idempotency-Key
    tx.policies        policies.py        certificate policies
    tx.ca              ca.py              the local certificate authority

Each area is a `typing.Protocol` (its contract, documented there) and a SQLAlchemy
implementation; `schema.py` holds the tables. The store refuses in domain terms (errors.py),
which `certgov.server.errors` maps to the contract's envelopes.
"""

from __future__ import annotations

from certgov.server.store.accounts import Account, Credentials
from certgov.server.store.audit import AuditFilter, ChainHead
from certgov.server.store.ca import StoredCA
from certgov.server.store.engine import Store
from certgov.server.store.errors import AuditUnavailable, NameTaken, StoreError
from certgov.server.store.idempotency import StoredAnswer
from certgov.server.store.keys import CLIENT_SECRET_KEY
from certgov.server.store.policies import Policy
from certgov.server.store.sessions import Session
from certgov.server.store.tx import Tx

__all__ = [
    "CLIENT_SECRET_KEY",
    "Account",
    "AuditFilter",
    "AuditUnavailable",
    "ChainHead",
    "Credentials",
    "NameTaken",
    "Policy",
    "Session",
    "Store",
    "StoreError",
    "StoredAnswer",
    "StoredCA",
    "Tx",
]
