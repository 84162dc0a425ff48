"""Service-account values both sides normalise alike: scopes and IP allowlist entries."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

SCOPE_ORDER = ("read", "write", "admin")


@lru_cache(maxsize=1 << 16)
def _network(entry: str) -> tuple[str, tuple[int, int, int]]:
    # Cached: a plan normalises each entry twice (declared and live), thousands of them.
    net = ipaddress.ip_network(entry.strip(), strict=True)
    text = str(net.network_address) if net.prefixlen == net.max_prefixlen else net.compressed
    return text, (net.version, int(net.network_address), net.prefixlen)


def check_ip_entry(entry: str) -> None:
    """Raises ValueError, in ipaddress's words, unless `entry` is an address or a network with
    no host bits set. Parsed through the normalisation's cache, so that normalising the entry
    afterwards (the declared and the live one) costs nothing more."""
    if entry != entry.strip():
        ipaddress.ip_network(entry, strict=True)  # refuses the spaces, in its own words
    _network(entry)


def normalise_ip_entry(entry: str) -> str:
    """An address stays an address; a range keeps its prefix; both in compressed form."""
    return _network(str(entry))[0]


def normalise_allowlist(entries: Iterable[str]) -> list[str]:
    """Each entry normalised, once, in address order (IPv4 first)."""
    return [text for text, _ in sorted({_network(str(e)) for e in entries}, key=lambda n: n[1])]


def normalise_scopes(scopes: Iterable[str]) -> list[str]:
    """Each scope once, in the order of the hierarchy: read, write, admin."""
    unique = set(scopes)
    return sorted(unique, key=lambda s: (SCOPE_ORDER.index(s) if s in SCOPE_ORDER else 99, s))
