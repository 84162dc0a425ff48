"""Service-account values both sides normalise alike: scopes and IP allowlist entries."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

SCOPE_ORDER = ("read", "write", "admin")


def normalise_ip_entry(entry: str) -> str:
    """An address stays an address; a range keeps its prefix; both in compressed form."""
    net = ipaddress.ip_network(str(entry).strip(), strict=True)
    if net.prefixlen == net.max_prefixlen:
        return str(net.network_address)
    return net.compressed


def ip_sort_key(entry: str) -> tuple[int, int, int]:
    net = ipaddress.ip_network(entry)
    return (net.version, int(net.network_address), net.prefixlen)


def normalise_scopes(scopes: Iterable[str]) -> list[str]:
    """Each scope once, in the order of the hierarchy: read, write, admin."""
    unique = set(scopes)
    return sorted(unique, key=lambda s: (SCOPE_ORDER.index(s) if s in SCOPE_ORDER else 99, s))
