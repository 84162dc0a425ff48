"""What every route reaches through `request.app.state.server`: settings, store, rate limiter,
CA and the enabled policies' index."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request

from certgov.server.ca import LocalCA
from certgov.server.enabled import EnabledPolicies
from certgov.server.netaddr import IPAddress, client_address
from certgov.server.ratelimit import RateLimiter
from certgov.server.settings import Settings
from certgov.server.store import Store


def iso(moment: datetime) -> str:
    """The wire's timestamp form: RFC 3339, UTC, second precision."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass
class Server:
    """The running server's parts, built once by `create_app`."""

    settings: Settings
    store: Store
    limiter: RateLimiter
    ca: LocalCA
    enabled: EnabledPolicies

    def now(self) -> datetime:
        return self.settings.now()


def server_of(request: Request) -> Server:
    server: Server = request.app.state.server
    return server


def client_ip(request: Request) -> IPAddress | None:
    """The caller's address under the trusted-proxy rule (see `netaddr.client_address`)."""
    server = server_of(request)
    peer = request.client.host if request.client else None
    return client_address(
        peer, request.headers.getlist("x-forwarded-for"), server.settings.proxy_networks
    )


def ip_text(addr: IPAddress | None) -> str | None:
    return None if addr is None else str(addr)
