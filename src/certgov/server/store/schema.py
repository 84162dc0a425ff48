"""The tables. Timestamps are stored as RFC 3339 UTC strings at second precision, which sort as
they compare and read back identically on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

metadata = MetaData()

TS = String(32)
# Plain code-point order for names on both databases: SQLite's default BINARY collation compares
# UTF-8 bytes, which is code-point order; PostgreSQL needs "C" to do the same.
NAME = String(200).with_variant(String(200, collation="C"), "postgresql")
# `certgov.rules.names.name_key(name)`: names equal after NFKC case folding share it, and its
# unique index makes them clash inside the database, however many writers race.
NAME_KEY = String(64)

server_keys = Table(
    "server_keys",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

service_accounts = Table(
    "service_accounts",
    metadata,
    Column("uuid", String(36), primary_key=True),
    Column("client_id", String(40), nullable=False, unique=True),
    Column("name", NAME, nullable=False, unique=True),
    Column("name_key", NAME_KEY, nullable=False, unique=True),
    Column("description", Text, nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("ip_allowlist", JSON, nullable=False),
    Column("expires_at", TS),
    Column("is_active", Boolean, nullable=False),
    Column("secret_digest", String(64), nullable=False),
    Column("secret_created_at", TS, nullable=False),
    Column("last_used_at", TS),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("revision", Integer, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_digest", String(64), primary_key=True),
    Column(
        "account_uuid",
        String(36),
        ForeignKey("service_accounts.uuid", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("revoked_at", TS),
)

# Keyed by the uuid a failed login named, whether an account has it or not (no foreign key), so
# that a wrong secret costs the same work for a known uuid as for an unknown one.
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("login_uuid", String(64), nullable=False),
    Column("at", TS, nullable=False),
    Index("ix_login_failures_login_uuid_at", "login_uuid", "at"),
)

# Ids are assigned from chain_head under its lock, so that they are part of the hashed content
# and consecutive: a deleted or reordered event breaks the chain.
audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("type", String(64), nullable=False),
    Column("occurred_at", TS, nullable=False),
    Column("actor_uuid", String(36)),
    Column("actor_name", Text),
    Column("actor_ip", String(64)),
    Column("target_kind", String(32)),
    Column("target_id", String(64)),
    Column("target_name", Text),
    Column("outcome", String(16), nullable=False),
    Column("code", String(64)),
    Column("details", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # By type, newest first, with the time to filter on: a page of one type's events (the
    # back-test reads 10,000 `certificate.requested` ones, 100 a page) walks this index alone
    # instead of sorting every event of the type for each page (0.33 s for the 100 pages on
    # SQLite, 0.09 s with this index).
    Index("ix_audit_events_type_id", "type", "id", "occurred_at"),
    Index("ix_audit_events_actor", "actor_uuid"),
    Index("ix_audit_events_target", "target_kind", "target_id"),
)

chain_head = Table(
    "chain_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_id", Integer, nullable=False),
    Column("last_hash", String(64), nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("account_uuid", String(36), nullable=False),
    Column("key", String(255), nullable=False),
    Column("request_digest", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", TS, nullable=False),
    PrimaryKeyConstraint("account_uuid", "key"),
)

policies = Table(
    "policies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", NAME, nullable=False, unique=True),
    Column("name_key", NAME_KEY, nullable=False, unique=True),
    Column("description", Text, nullable=False),
    Column("is_enabled", Boolean, nullable=False),
    Column("matching_criteria", JSON, nullable=False),
    Column("rules", JSON, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("revision", Integer, nullable=False),
    # Ids are never reused (PostgreSQL's sequence does not; SQLite needs AUTOINCREMENT): a new
    # policy must not inherit a deleted one's id, ETag ("<id>-1") or audit history.
    sqlite_autoincrement=True,
)

# One row (id 1), its version bumped in the transaction of every policy change (`Policies`
# insert, update, delete): a server keeps what it derives from the enabled policies (their index
# by domain) until the version moves, and every server on the database sees it move.
policy_version = Table(
    "policy_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
)

certificate_authority = Table(
    "certificate_authority",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("key_pem", Text, nullable=False),
    Column("cert_pem", Text, nullable=False),
)
