"""The HTTP side of certgov: ClmClient (sessions, paging, retries, typed errors) and live state.

with ClmClient(url, Credentials.from_file("bootstrap.json")) as client:
    live = read_live_state(client)
"""

from __future__ import annotations

from certgov.apiurl import api_root, canonical_api_root
from certgov.client.clm import ClmClient
from certgov.client.credentials import Credentials
from certgov.client.live import live_resource, read_live_state
from certgov.client.results import ListItem, ObjectResult, SecretResult, SessionInfo
from certgov.client.retry import NO_RETRY, RetryPolicy, is_idempotent

__all__ = [
    "NO_RETRY",
    "ClmClient",
    "Credentials",
    "ListItem",
    "ObjectResult",
    "RetryPolicy",
    "SecretResult",
    "SessionInfo",
    "api_root",
    "canonical_api_root",
    "is_idempotent",
    "live_resource",
    "read_live_state",
]
