"""Snapshots: the live, secret-free state of a tenant, for plans whose account cannot read it.

A pull-request job plans with a `read` account, which cannot list service accounts (scope
admin). The trusted jobs on the default branch, which hold an admin account, publish a snapshot
(`certgov snapshot --out FILE`); the pull-request plan compares the kinds it cannot read with
that snapshot (`certgov plan --snapshot FILE`) and says so in its coverage. A snapshot of
another target, or older than `--max-snapshot-age`, is refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from certgov.errors import Position, SnapshotError
from certgov.plan.document import Target
from certgov.plan.model import StoreRecordMeta, digest
from certgov.state import KINDS, POLICY, SERVICE_ACCOUNT, Resource, State
from certgov.version import __version__

if TYPE_CHECKING:
    from certgov.client import ClmClient
    from certgov.run.facts import Connect

FORMAT_VERSION = "1"
DEFAULT_MAX_AGE = timedelta(hours=24)


@dataclass(frozen=True)
class Snapshot:
    """A tenant's objects as its list endpoints answered them, when, and for which target."""

    target: Target
    taken_at: datetime
    objects: Mapping[str, tuple[Mapping[str, Any], ...]]
    store_records: Mapping[str, StoreRecordMeta | None] = field(default_factory=dict)
    """What the secret stores hold of each declared account's secret, by `store:path`: meta
    only (client_id, secret_created_at), never a secret; None where there is no record."""

    def to_json(self) -> dict[str, Any]:
        body = {
            "format_version": FORMAT_VERSION,
            "certgov_version": __version__,
            "target": self.target.to_json(),
            "taken_at": self.taken_at.isoformat(),
            "objects": {kind: [dict(o) for o in items] for kind, items in self.objects.items()},
            "store_records": {
                key: None
                if meta is None
                else {
                    "client_id": meta.client_id,
                    "secret_created_at": meta.secret_created_at,
                }
                for key, meta in sorted(self.store_records.items())
            },
        }
        return {**body, "fingerprint": digest(body)}

    def state(self, kind: str) -> State:
        """The live State of one kind, built as from the API."""
        from certgov.client.live import live_resource

        resources: list[Resource] = [live_resource(kind, o) for o in self.objects.get(kind, ())]
        return State.build(resources)

    def describe(self, now: datetime) -> str:
        """`the snapshot of 2026-12-07T02:00Z, 3 h old`."""
        hours = int((now - self.taken_at).total_seconds() // 3600)
        when = self.taken_at.strftime("%Y-%m-%dT%H:%MZ")
        return f"the snapshot of {when}, {hours} h old"

    def check(self, target: Target, now: datetime, max_age: timedelta, where: str) -> None:
        """Refuse a snapshot of another target, or one older than `max_age`."""
        if (self.target.url, self.target.environment) != (target.url, target.environment):
            raise SnapshotError(
                f"the snapshot is of {self.target}, not of {target}; use a snapshot of the "
                "target this plan is for",
                position=Position(where),
            )
        age = now - self.taken_at
        if age > max_age:
            raise SnapshotError(
                f"the snapshot was taken at {self.taken_at.isoformat()}, {_hours(age)} ago, "
                f"more than --max-snapshot-age {_hours(max_age)}; publish a new one (certgov "
                "snapshot, from a job with an admin account)",
                position=Position(where),
            )


def _hours(span: timedelta) -> str:
    return f"{round(span.total_seconds() / 3600, 1):g} h"


def write_snapshot(path: str | Path, snapshot: Snapshot) -> None:
    from certgov.plan.document import dumps

    Path(path).write_text(dumps(snapshot.to_json()), encoding="utf-8")


def load_snapshot(path: str | Path) -> Snapshot:
    """A snapshot file, schema-checked, refused when edited after it was written."""
    from jsonschema import Draft202012Validator

    from certgov.resources import load_schema

    where = Position(str(path))
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise SnapshotError(f"cannot read the snapshot: {exc}", position=where) from None
    validator = Draft202012Validator(load_schema("snapshot.json"))
    problems = sorted(
        f"{'/'.join(map(str, e.absolute_path)) or '(document)'}: {e.message}"
        for e in validator.iter_errors(data)
    )
    if problems:
        raise SnapshotError("not a certgov snapshot: " + "; ".join(problems), position=where)
    body = {k: v for k, v in data.items() if k != "fingerprint"}
    if digest(body) != data["fingerprint"]:
        raise SnapshotError(
            "the snapshot's fingerprint does not match its content: it was edited after "
            "`certgov snapshot` wrote it",
            position=where,
        )
    return Snapshot(
        target=Target.from_json(data["target"]),
        taken_at=datetime.fromisoformat(data["taken_at"]),
        objects={k: tuple(v) for k, v in data["objects"].items()},
        store_records={
            key: None
            if meta is None
            else StoreRecordMeta(meta["client_id"], meta["secret_created_at"])
            for key, meta in (data.get("store_records") or {}).items()
        },
    )


def take_snapshot(client: ClmClient, environment: str | None = None) -> Snapshot:
    """Every object of every kind, as the list endpoints answer (needs scope admin)."""
    from certgov.client import canonical_api_root
    from certgov.client.clm import POLICIES, SERVICE_ACCOUNTS
    from certgov.run.facts import server_now

    paths = {SERVICE_ACCOUNT: SERVICE_ACCOUNTS, POLICY: POLICIES}
    objects = {kind: tuple(client.list_all(paths[kind])) for kind in KINDS}
    target = Target(canonical_api_root(client.server), environment)
    return Snapshot(target=target, taken_at=server_now(client), objects=objects)


def snapshot_folder(
    path: str, out: str, connect: Connect, environment: str | None = None
) -> Snapshot:
    """`certgov snapshot PATH --out FILE`: the tenant certgov.yaml names, and what its secret
    stores hold of each declared account's secret (meta only), written to `out`."""
    from certgov.declarations import load
    from certgov.run.facts import open_stores, record_key, store_facts

    decls = load(path, environment=environment)
    with open_stores(decls) as stores, connect(decls.config.endpoint) as client:
        snapshot = take_snapshot(client, decls.environment)
        facts = store_facts(decls.state, stores, parallelism=client.parallelism)
    keys = {
        r.name: record_key(r.meta["secret"])
        for r in decls.state.of_kind(SERVICE_ACCOUNT)
        if r.meta.get("secret")
    }
    snapshot = replace(snapshot, store_records={keys[n]: meta for n, meta in facts.items()})
    write_snapshot(out, snapshot)
    return snapshot
