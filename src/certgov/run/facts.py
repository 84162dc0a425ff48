"""What plan, apply, drift and rollout status read before the pure planner runs.

Live state, the server's clock, the secret stores' record meta and the audit-derived rollout
facts are fetched here and handed to the planner as data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from certgov.background import Background
from certgov.errors import CertgovError, ExtensionMissingError, ScopeError
from certgov.plan.document import LIVE, NOT_PLANNED, SNAPSHOT, Coverage, Evidence
from certgov.plan.model import StoreRecordMeta
from certgov.plan.rollout import GateFacts, RolloutFacts
from certgov.state import KINDS, POLICY, SERVICE_ACCOUNT, State

if TYPE_CHECKING:
    from certgov.apply.stores import SecretStore
    from certgov.client import ClmClient
    from certgov.declarations import Config, Declarations
    from certgov.declarations.config import Endpoint
    from certgov.run.snapshot import Snapshot


Connect = Callable[["Endpoint"], "ClmClient"]
"""Opens the API client, given the tenant's `server:` (and environment) of certgov.yaml (the CLI
resolves --url and the rest); the caller uses it in a `with` block, so that the session is
revoked."""


@contextmanager
def open_stores(decls: Declarations) -> Iterator[dict[str, SecretStore]]:
    """The configured secret stores, closed afterwards (some hold connections)."""
    from certgov.apply.stores import build_stores

    stores = build_stores(decls.config.secret_stores, root=decls.root)
    try:
        yield stores
    finally:
        for store in stores.values():
            store.close()


def record_key(secret: Mapping[str, Any]) -> str:
    """`store:path`, how a snapshot names the store record of an account's secret."""
    return f"{secret['store']}:{secret['path']}"


def store_facts(
    desired: State,
    stores: Mapping[str, SecretStore],
    known: Mapping[str, StoreRecordMeta | None] | None = None,
    parallelism: int = 1,
) -> dict[str, StoreRecordMeta | None]:
    """The meta of each declared account's store record (never the secret); from `known`
    (a snapshot's, by `store:path`) where it has the record, so that a job without access to the
    stores can plan.

    A store behind a service or a command is read `parallelism` records at a time (each read is
    a round trip: ten thousand of them in turn would take minutes); the file store in turn (its
    reads are this process's CPU, which threads would only contend for).
    """
    from certgov.apply.stores.file import FileStore

    secrets: dict[str, Mapping[str, Any]] = {}
    for resource in desired.of_kind(SERVICE_ACCOUNT):
        secret = resource.meta.get("secret")
        if secret:
            secrets[resource.name] = secret

    def read(name: str) -> StoreRecordMeta | None:
        secret = secrets[name]
        if known is not None and record_key(secret) in known:
            return known[record_key(secret)]
        meta = stores[secret["store"]].read_meta(secret["path"])
        return None if meta is None else StoreRecordMeta(meta.client_id, meta.secret_created_at)

    local = [n for n, s in secrets.items() if isinstance(stores.get(s["store"]), FileStore)]
    records = {name: read(name) for name in local}
    remote = [name for name in secrets if name not in records]
    if remote:
        with ThreadPoolExecutor(max(1, parallelism), thread_name_prefix="certgov-store") as pool:
            records.update(zip(remote, pool.map(read, remote), strict=True))
    return {name: records[name] for name in secrets}


def server_now(client: ClmClient) -> datetime:
    """The server's clock, read off the session it issued (expires_at less expires_in).

    Rollout clocks and audit windows are compared with the audit log's timestamps, which the
    server writes; reading time from the same clock keeps a skewed client from promoting early.
    """
    info = client.logged_in()
    return (info.expires_at - timedelta(seconds=info.expires_in)).astimezone(UTC)


def managed_kinds(decls: Declarations) -> set[str]:
    """The kinds the repository manages: it declares objects of them, or prunes them."""
    return {
        kind
        for kind in KINDS
        if decls.state.of_kind(kind) or decls.config.manage[kind].prune is not False
    }


@dataclass(frozen=True)
class Tenant:
    """What is read of the live tenant before the declarations are known: the server's clock,
    and the objects of each kind this account may read (service accounts need scope admin:
    without it, the policies alone and the ScopeError that says why)."""

    now: datetime
    live: State
    unreadable: ScopeError | None = None


def read_tenant(client: ClmClient) -> Tenant:
    """The server's clock and live state, through the list endpoints."""
    from certgov.client.live import read_live_state

    now = server_now(client)
    try:
        return Tenant(now, read_live_state(client))
    except ScopeError as exc:
        return Tenant(now, read_live_state(client, kinds=(POLICY,)), exc)


def read_live(
    client: ClmClient,
    desired: State,
    managed: set[str] | None = None,
    snapshot: Snapshot | None = None,
    now: datetime | None = None,
    tenant: Tenant | None = None,
) -> tuple[State, State, dict[str, Coverage]]:
    """Live state of both kinds (`tenant`'s when it was read already), and how each kind was
    compared.

    With an account that may not read service accounts (a CI job with scope read or write),
    the policies alone: service accounts are then compared with `snapshot` when one is given,
    else "not planned", with the reason, and left out of the desired state too (`managed` says
    whether that makes the plan partial).
    """
    read = tenant or read_tenant(client)
    if read.unreadable is None:
        return desired, read.live, {kind: Coverage(LIVE) for kind in KINDS}
    if snapshot is not None:
        accounts = snapshot.state(SERVICE_ACCOUNT)
        when = snapshot.describe(now or snapshot.taken_at)
        coverage = {
            SERVICE_ACCOUNT: Coverage(SNAPSHOT, f"{SERVICE_ACCOUNT} compared with {when}"),
            POLICY: Coverage(LIVE),
        }
        return desired, State.build([*read.live, *accounts]), coverage
    policies_only = State.build(desired.of_kind(POLICY))
    counted = SERVICE_ACCOUNT in (managed if managed is not None else KINDS)
    coverage = {
        SERVICE_ACCOUNT: Coverage(NOT_PLANNED, read.unreadable.message, managed=counted),
        POLICY: Coverage(LIVE),
    }
    return policies_only, read.live, coverage


class TenantReading:
    """Opens the API client and reads the tenant (`read_tenant`) on a thread, so that the round
    trips and the server's work overlap loading the declarations.

    `start` is handed to `load(alongside=...)`; `result` waits and answers the client and what
    was read, or raises what opening or reading raised (only then: an error in the declarations
    is reported first, as without the thread). Leaving the `with` block it is used in waits for
    the thread, then closes the client (revoking its session).
    """

    def __init__(self, connect: Connect, endpoint: Endpoint) -> None:
        self._clients = ExitStack()

        def read() -> tuple[ClmClient, Tenant]:
            client = self._clients.enter_context(connect(endpoint))
            return client, read_tenant(client)

        self._read = Background(read, "certgov-tenant")

    def start(self) -> None:
        self._read.start()

    def result(self) -> tuple[ClmClient, Tenant]:
        return self._read.result()

    def __enter__(self) -> TenantReading:
        return self

    def __exit__(self, *exc: object) -> None:
        self._read.join()
        self._clients.close()


def file_store_records(
    configs: Mapping[str, Mapping[str, Any]], root: Path
) -> dict[str, StoreRecordMeta | None]:
    """The meta of every record of the `file` stores that reads cleanly, by `store:path`, for
    `store_facts(known=...)`: one walk of each folder, while the declarations load, costs less
    than a read per account afterwards. Nothing when the stores cannot be built (`open_stores`
    then says why)."""
    from certgov.apply.stores import FileStore, build_stores

    files = {name: config for name, config in configs.items() if config.get("type") == "file"}
    try:
        stores = build_stores(files, root)
    except CertgovError:
        return {}
    return {
        record_key({"store": name, "path": path}): StoreRecordMeta(
            meta.client_id, meta.secret_created_at
        )
        for name, store in stores.items()
        if isinstance(store, FileStore)
        for path, meta in store.read_all_meta().items()
    }


def rollout_facts(
    client: ClmClient, desired: State, live: State
) -> tuple[dict[tuple[str, str], RolloutFacts], str | None]:
    """Audit-derived rollout facts, or none and why they could not be read."""
    from certgov.run.rolloutfacts import gather

    try:
        return gather(client, desired, live), None
    except (ScopeError, ExtensionMissingError) as exc:
        return {}, exc.message


def rollout_warnings(unread: str | None, gate: GateFacts | None) -> tuple[str, ...]:
    """The warnings of rollout evidence that could not be read: then no rule is promoted."""
    warnings = []
    if unread is not None:
        warnings.append(f"rollout evidence skipped, so no rule is promoted: {unread}")
    if gate is not None and gate.unreadable is not None:
        warnings.append(
            f"rollout gate: the rollouts of environment {gate.environment} could not be read, "
            f"so no rule is promoted: {gate.unreadable}"
        )
    return tuple(warnings)


def rollout_evidence(
    desired: State, unread: str | None, gate: GateFacts | None
) -> dict[str, Evidence]:
    """What the rollout decisions needed beyond the kinds, and whether it was read: the audit
    log when a declared policy has rollouts, the other environment with `rollout.after`."""
    evidence = {}
    if any(policy.meta.get("rollout") for policy in desired.of_kind(POLICY)):
        evidence["audit log"] = Evidence(unread is None, unread)
    if gate is not None and (gate.now is not None or gate.unreadable is not None):
        evidence[f"environment {gate.environment}"] = Evidence(
            gate.unreadable is None, gate.unreadable
        )
    return evidence


def gate_facts(config: Config, connect: Connect, desired: State, live: State) -> GateFacts | None:
    """With `rollout.after`, what that environment says of the rules that could be promoted
    here, read with its own server and credentials; or why it could not be read (then no rule
    is promoted). It is read only when a rule here is soft and could be promoted."""
    from certgov.run.rolloutfacts import gather_gate, soft_rules

    after = config.environment.after if config.environment else None
    if after is None:
        return None
    rules = soft_rules(desired, live)
    if not rules:
        return GateFacts(after)
    try:
        with connect(config.endpoint_of(after)) as client:
            return gather_gate(client, after, rules, server_now(client))
    except CertgovError as exc:
        return GateFacts(after, unreadable=exc.message)
