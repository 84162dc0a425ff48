"""The audit log's hash chain (contract §5.2): canonical JSON, event hashes, chain verification.

Each event's `hash` is HMAC-SHA-256, under a key kept outside the database, over the canonical
JSON of the event without its `hash` (so its `id`, content and `prev_hash` are all covered); the
first event's `prev_hash` is GENESIS. Whoever can write the database but lacks the key cannot
recompute the chain after changing an event; signed checkpoints of the head (checkpoint.py)
catch what the key alone cannot: deleted newest events, or a rewrite by someone with the key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

GENESIS = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who did it: an account (or None for unknown callers and the CLI) and the peer address."""

    service_account: str | None
    name: str | None
    ip: str | None


@dataclass(frozen=True)
class Target:
    """What it was done to."""

    kind: str
    id: str
    name: str | None


@dataclass(frozen=True)
class AuditRecord:
    """An event before the chain gives it an id, a time and hashes."""

    type: str
    actor: Actor
    target: Target | None
    outcome: str = "success"
    code: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


CLI_ACTOR = Actor(None, "certgov server (command line)", None)


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no insignificant whitespace, UTF-8: one byte string per value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(event: Mapping[str, Any], key: bytes) -> str:
    """The hash of an event as served, over everything but its own `hash`, keyed by `key`."""
    content = {k: v for k, v in event.items() if k != "hash"}
    return hmac.new(key, canonical_json(content), hashlib.sha256).hexdigest()


def event_document(
    record: AuditRecord, event_id: int, occurred_at: str, prev_hash: str, key: bytes
) -> dict[str, Any]:
    """The event as the API serves it, with its hash computed."""
    target = record.target
    doc: dict[str, Any] = {
        "id": event_id,
        "type": record.type,
        "occurred_at": occurred_at,
        "actor": {
            "service_account": record.actor.service_account,
            "name": record.actor.name,
            "ip": record.actor.ip,
        },
        "target": None
        if target is None
        else {"kind": target.kind, "id": target.id, "name": target.name},
        "outcome": record.outcome,
        "code": record.code,
        "details": dict(record.details),
        "prev_hash": prev_hash,
    }
    doc["hash"] = event_hash(doc, key)
    return doc


@dataclass(frozen=True)
class ChainBreak:
    """The first event at which the chain does not hold, and why."""

    event_id: int
    reason: str

    def __str__(self) -> str:
        return f"audit chain broken at event {self.event_id}: {self.reason}"


class Checkpointed(Protocol):
    """A signed statement that event `event_id` of the log had hash `hash` (checkpoint.py)."""

    @property
    def event_id(self) -> int: ...

    @property
    def hash(self) -> str: ...

    @property
    def origin(self) -> str:
        """Where it came from and when it was signed, for messages."""


def verify_chain(
    events: Iterable[Mapping[str, Any]],
    key: bytes,
    head: tuple[int, str] | None = None,
    checkpoints: Sequence[Checkpointed] = (),
) -> ChainBreak | None:
    """The first break of the chain, in log order, or None: events in id order, each keyed by
    `key`; `head` is the stored (last_id, last_hash) to compare the end to; every checkpointed
    event must still be there with the hash its checkpoint signed."""
    signed: dict[int, list[Checkpointed]] = {}
    for checkpoint in checkpoints:
        signed.setdefault(checkpoint.event_id, []).append(checkpoint)
    prev_hash = GENESIS
    expected_id = 1
    for event in events:
        event_id = int(event["id"])
        if event_id != expected_id:
            return ChainBreak(expected_id, f"missing (the next event in the log is {event_id})")
        if event["prev_hash"] != prev_hash:
            return ChainBreak(event_id, "prev_hash does not match the previous event's hash")
        if not hmac.compare_digest(event_hash(event, key), str(event["hash"])):
            return ChainBreak(event_id, "hash does not match the event's content")
        for checkpoint in signed.pop(event_id, ()):
            if event["hash"] != checkpoint.hash:
                return ChainBreak(
                    event_id,
                    f"its hash is not the one {checkpoint.origin} holds: the log was rewritten "
                    "at or before this event",
                )
        prev_hash = str(event["hash"])
        expected_id += 1
    if signed:
        first = min(signed)
        return ChainBreak(
            first,
            f"missing, but {signed[first][0].origin} holds it: the log ends at event "
            f"{expected_id - 1}, so newer events were deleted",
        )
    if head is not None and head != (expected_id - 1, prev_hash):
        return ChainBreak(head[0], "the chain head names an event that is not the last one")
    return None
