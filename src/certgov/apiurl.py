"""The API's base URL, spelt one way: what the client calls, what a plan's target records, and
what tells two environments of certgov.yaml apart (so it sits below all three)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

API_BASE = "/api/v1"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def api_root(base_url: str) -> str:
    """The base URL with the contract's `/api/v1` base path, whether or not it was given."""
    root = base_url.strip().rstrip("/")
    return root if root.endswith(API_BASE) else root + API_BASE


def canonical_api_root(base_url: str) -> str:
    """One spelling per API: scheme and host lower-cased, the default port dropped, no trailing
    slash, ending in `/api/v1`. Two URLs of one API compare equal, so a plan's target can be
    checked against where apply is about to write."""
    parts = urlsplit(api_root(base_url))
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path, "", ""))
