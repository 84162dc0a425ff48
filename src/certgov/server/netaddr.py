"""Client addresses: allowlist matching and the trusted-proxy rule for X-Forwarded-For."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_address(text: str) -> IPAddress | None:
    """An address with IPv4-mapped IPv6 unwrapped to IPv4, or None when it is not an address."""
    try:
        addr = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def in_networks(addr: IPAddress | None, networks: Iterable[IPNetwork]) -> bool:
    """Whether the address lies in any of the networks (never for an unknown address)."""
    if addr is None:
        return False
    return any(addr.version == net.version and addr in net for net in networks)


def client_address(
    peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[IPNetwork]
) -> IPAddress | None:
    """The caller's address.

    X-Forwarded-For counts only when the direct peer is a trusted proxy; then the right-most
    address that is not itself a trusted proxy is the client (everything left of it could have
    been written by the client). An unparsable entry there yields None: nobody can vouch for it.
    """
    addr = parse_address(peer) if peer else None
    if addr is None or not in_networks(addr, trusted):
        return addr
    hops = [h.strip() for header in forwarded_for for h in header.split(",") if h.strip()]
    for hop in reversed(hops):
        hop_addr = parse_address(hop)
        if hop_addr is None:
            return None
        if not in_networks(hop_addr, trusted):
            return hop_addr
        addr = hop_addr
    return addr


def parse_allowlist(entries: Iterable[str]) -> list[IPNetwork]:
    """The allowlist's entries as networks (an address is a /32 or /128)."""
    return [ipaddress.ip_network(e, strict=True) for e in entries]
