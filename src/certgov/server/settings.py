"""Server settings: one frozen dataclass, built by the CLI or by tests, passed to `create_app`."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from certgov.server.netaddr import IPNetwork

DEFAULT_DATABASE_URL = "sqlite:///./certgov-server.db"
MAX_BODY_BYTES = 1024 * 1024


def utc_now() -> datetime:
    """The real clock; tests inject their own."""
    return datetime.now(UTC)


class ServerConfigError(ValueError):
    """Settings that the server refuses to start with."""


def audit_key_path(database_url: str, given: str | None) -> Path:
    """The file of the audit chain's key: the one given, else `<database file>.audit-key` for
    SQLite; a PostgreSQL database has no file to put it beside."""
    from sqlalchemy.engine import make_url

    if given:
        return Path(given)
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise ServerConfigError("the SQLite database must be a file: sqlite:///path.db")
        return Path(f"{url.database}.audit-key")
    raise ServerConfigError(
        "a PostgreSQL database needs --audit-key FILE (or CERTGOV_AUDIT_KEY_FILE): the key of "
        "the audit chain is kept outside the database, so that who can write the database "
        "cannot rewrite the chain"
    )


@dataclass(frozen=True)
class Settings:
    """Everything the server needs to know, including the clock it reads time from.

    `rate_limit` is requests per second per client IP on login and validate, with a burst of
    twice that; 0 turns the limit off. `audit_key_file` is the key of the audit chain, by
    default `<database file>.audit-key` for SQLite and required for PostgreSQL
    (`audit_key_path` is the file that applies).
    """

    database_url: str = DEFAULT_DATABASE_URL
    clock: Callable[[], datetime] = utc_now
    trusted_proxies: tuple[str, ...] = ()
    rate_limit: float = 20.0
    session_ttl: timedelta = timedelta(hours=24)
    lockout_threshold: int = 5
    lockout_window: timedelta = timedelta(minutes=15)
    idempotency_ttl: timedelta = timedelta(hours=24)
    max_body_bytes: int = MAX_BODY_BYTES
    audit_key_file: str | None = None
    proxy_networks: tuple[IPNetwork, ...] = field(init=False)
    audit_key_path: Path = field(init=False)

    def __post_init__(self) -> None:
        networks: list[IPNetwork] = []
        for entry in self.trusted_proxies:
            try:
                net = ipaddress.ip_network(entry.strip(), strict=True)
            except ValueError as exc:
                raise ServerConfigError(f"--trusted-proxy {entry!r}: {exc}") from None
            if net.prefixlen == 0:
                # Trusting every peer would let any client choose its own address.
                raise ServerConfigError(
                    f"--trusted-proxy {entry!r} trusts every address; name the proxies' ranges"
                )
            networks.append(net)
        if self.rate_limit < 0:
            raise ServerConfigError("--rate-limit must be 0 (off) or positive")
        object.__setattr__(self, "proxy_networks", tuple(networks))
        object.__setattr__(
            self, "audit_key_path", audit_key_path(self.database_url, self.audit_key_file)
        )

    def now(self) -> datetime:
        """The injected clock's time, in UTC, at second precision (the wire's precision)."""
        return self.clock().astimezone(UTC).replace(microsecond=0)
