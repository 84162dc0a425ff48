"""The live State, read through the list endpoints only (never one GET per object).

Specs go through the same normalisers as the declarations (certgov.state), so that desired and
live compare like with like; what is not compared (id, etag, timestamps) goes to
`meta`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from certgov.client.clm import POLICIES, SERVICE_ACCOUNTS, ClmClient
from certgov.errors import ApiError
from certgov.gcpause import gc_paused
from certgov.state import (
    KINDS,
    POLICY,
    SERVICE_ACCOUNT,
    Resource,
    State,
    policy_spec,
    service_account_spec,
)

_META_FIELDS = ("client_id", "secret_created_at", "last_used_at", "created_at", "updated_at")

_SOURCES: dict[str, tuple[str, str, Callable[[Mapping[str, Any]], dict[str, Any]]]] = {
    SERVICE_ACCOUNT: (SERVICE_ACCOUNTS, "uuid", service_account_spec),
    POLICY: (POLICIES, "id", policy_spec),
}


def live_resource(kind: str, obj: Mapping[str, Any]) -> Resource:
    """One live object as a Resource: normalised spec, server-managed fields in meta."""
    _, id_field, spec_of = _SOURCES[kind]
    meta: dict[str, Any] = {"id": obj.get(id_field), "etag": obj.get("etag")}
    meta.update({name: obj.get(name) for name in _META_FIELDS})
    return Resource(kind=kind, name=str(obj["name"]), spec=spec_of(obj), meta=meta)


def read_live_state(client: ClmClient, kinds: Iterable[str] = KINDS) -> State:
    """Read every object of `kinds` through the list endpoints, the kinds side by side."""
    wanted = list(dict.fromkeys(kinds))
    unknown = [k for k in wanted if k not in _SOURCES]
    if unknown:
        raise ValueError(f"unknown kind(s): {', '.join(unknown)}")
    if not wanted:
        return State.build([])
    with gc_paused():
        return _read(client, wanted)


def _read(client: ClmClient, wanted: list[str]) -> State:
    with ThreadPoolExecutor(max_workers=len(wanted), thread_name_prefix="certgov-kind") as pool:
        listed = list(pool.map(lambda kind: client.list_all(_SOURCES[kind][0]), wanted))
    resources = [
        live_resource(kind, obj)
        for kind, items in zip(wanted, listed, strict=True)
        for obj in items
    ]
    try:
        return State.build(resources)
    except ValueError as exc:
        # Names are unique per tenant (docs/api.md §4): two alike break the contract.
        raise ApiError(
            f"the server at {client.server} lists two objects with one name: {exc}",
            status=200,
            code="BAD_ANSWER",
        ) from None
