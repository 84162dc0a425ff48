"""The executor: applies exactly the changes of one plan document, and nothing else.

`run(document, ops, stores, on_outcome)` first re-reads the live objects and refuses a stale plan
(an object the plan touches has changed since). Writes carry `If-Match` (the ETag re-read now,
once the object's content is confirmed unchanged) and creates an `Idempotency-Key` derived from
the plan's fingerprint, the address and the run, so a retried create is replayed rather than
duplicated. Objects that an interrupted or concurrent run created are adopted, not duplicated.
Phases run in the planner's dependency order; the objects of one phase run in parallel.

Each kind has its actions object with an explicit action table (`PolicyActions`,
`AccountActions`); the walk looks an action up in its kind's table and never branches on kinds.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from certgov.apply.failpoints import failpoint
from certgov.apply.ops import AccountOps, KindOps, Operations, PolicyOps
from certgov.apply.result import (
    APPLIED,
    EARLIER_FAILED,
    FAILED,
    NOT_ATTEMPTED,
    NOT_STARTED,
    PAST_TENSE,
    ApplyResult,
    Outcome,
)
from certgov.diff import field_diff
from certgov.errors import (
    ApplyInterruptedError,
    CertgovError,
    ConflictError,
    NotFoundError,
    PolicyTestsFailedError,
    PreconditionFailedError,
    SecretStoreError,
    StalePlanError,
)
from certgov.plan.document import PlanDocument
from certgov.plan.model import ACTION_ORDER, Change, SecretTarget, digest
from certgov.policytest import (
    Evaluate,
    PolicyTestCase,
    inline_body,
    proof_message,
    run_cases,
    softened_rules,
)
from certgov.state import POLICY, SERVICE_ACCOUNT, Resource, State

if TYPE_CHECKING:
    from certgov.apply.stores import SecretStore
    from certgov.client import Credentials

# How long to wait for another run to store the secret of an account it created.
ADOPT_WAIT = 5.0

Handler = Callable[[Change], str]


@dataclass(frozen=True)
class PolicyProof:
    """What proves a policy by the dry run before it is enabled: its declared tests, and its
    declared spec (rules that a rollout holds soft count as the hard rules they will become)."""

    cases: tuple[PolicyTestCase, ...]
    declared: Mapping[str, Any]


def _same_content(spec: Mapping[str, Any], after: Mapping[str, Any] | None) -> bool:
    # A run creates a policy disabled and enables it once proven, so `enabled` may lag.
    return {**spec, "enabled": None} == {**(after or {}), "enabled": None}


def check_fresh(document: PlanDocument, live: State) -> dict[str, Resource]:
    """The live object behind each change, refusing the plan when one changed since planning.

    A create whose object now exists with the declared content (an interrupted or concurrent
    run made it) maps to that object, for the executor to adopt; changes to objects the plan
    does not touch do not matter.
    """
    by_id = {(r.kind, r.meta.get("id")): r for r in live}
    current: dict[str, Resource] = {}
    stale: list[str] = []
    for change in document.changes:
        address = change.address
        if change.observed is None:
            existing = live.get(change.kind, change.name)
            if existing is None:
                continue
            if _same_content(existing.spec, change.after):
                current[address] = existing
                continue
            stale.append(f"{address}: created by someone else since the plan")
            continue
        obj = by_id.get((change.kind, change.observed.id))
        if obj is None:
            stale.append(f"{address}: deleted by someone else since the plan")
            continue
        if digest(obj.spec) != change.observed.digest:
            changed = field_diff(change.before or {}, obj.spec)
            what = ", ".join(f"{d.path}: {d.before!r} → {d.after!r}" for d in changed)
            stale.append(f"{address}: changed since the plan ({what})")
            continue
        current[address] = obj
    if stale:
        raise StalePlanError(
            "the plan is stale; make a new plan. Changed since the plan:\n  " + "\n  ".join(stale)
        )
    return current


def idempotency_key(fingerprint: str, address: str, run: str) -> str:
    """The key of one create: the plan's fingerprint, the address, and this run.

    A create retried within this run after a lost answer is replayed by the server (and this
    run, which lost the secret, regenerates it). The run id keeps a second apply of the same plan
    from receiving this run's replay: it meets a 409 instead, and never touches the secret that
    this run is about to store.
    """
    return hashlib.sha256(f"{fingerprint}\n{address}\n{run}".encode()).hexdigest()


class _Memory:
    """One run's memory of each object it touches: its id and the ETag it last saw."""

    def __init__(self, current: Mapping[str, Resource]) -> None:
        self.ids: dict[str, Any] = {a: obj.meta.get("id") for a, obj in current.items()}
        self.etags: dict[str, str | None] = {a: obj.meta.get("etag") for a, obj in current.items()}

    def id(self, change: Change) -> Any:
        return self.ids[change.address]

    def etag(self, change: Change) -> str | None:
        return self.etags.get(change.address)

    def remember(self, change: Change, result: Any) -> None:
        self.etags[change.address] = result.etag

    def learn(self, change: Change, obj: Resource) -> None:
        self.ids[change.address] = obj.meta.get("id")
        self.etags[change.address] = obj.meta.get("etag")


class _KindActions:
    """The actions every kind shares; a kind's subclass adds its own and builds the table."""

    ops: KindOps

    def __init__(self, memory: _Memory, key_of: Callable[[Change], str]) -> None:
        self.memory = memory
        self.key_of = key_of

    def table(self) -> dict[str, Handler]:
        return {
            "create": self.create,
            "update": self.update,
            "rename": self.rename,
            "enable": self.enable,
            "disable": self.disable,
            "delete": self.delete,
        }

    # -- shared actions ----------------------------------------------------------------------

    def create(self, change: Change) -> str:
        try:
            return self.make(change, self.key_of(change))
        except ConflictError as exc:
            return self._conflict(change, exc)

    def update(self, change: Change) -> str:
        raise NotImplementedError  # pragma: no cover - each kind defines it

    def make(self, change: Change, key: str) -> str:
        raise NotImplementedError  # pragma: no cover - each kind defines it

    def adopt(self, change: Change, existing: Resource) -> str:
        raise NotImplementedError  # pragma: no cover - each kind defines it

    def enable(self, change: Change) -> str:
        return self.toggle(change, True)

    def disable(self, change: Change) -> str:
        return self.toggle(change, False)

    def rename(self, change: Change) -> str:
        self.update(change)
        return f"renamed from {(change.before or {}).get('name')!r}"

    def delete(self, change: Change) -> str:
        self.ops.delete(self.memory.id(change), if_match=self.memory.etag(change))
        return "deleted"

    def toggle(self, change: Change, enable: bool) -> str:
        result = self.ops.set_enabled(
            self.memory.id(change), enable, if_match=self.memory.etag(change)
        )
        self.memory.remember(change, result)
        return "enabled" if enable else "disabled"

    # -- conflicts and retries ---------------------------------------------------------------

    def _conflict(self, change: Change, exc: ConflictError) -> str:
        """A 409 on create: adopt the object when another run made it with the declared content."""
        existing = self.ops.find(change.name)
        if existing is None or not _same_content(existing.spec, change.after):
            raise CertgovError(f"{change.address}: {exc.message}") from None
        self.memory.learn(change, existing)
        return self.adopt(change, existing)

    def already_done(self, change: Change) -> bool:
        """After a 412 or 404 on a write: whether the object is now exactly as the change wanted
        (an earlier attempt whose answer was lost, retried by the client, made the change)."""
        try:
            found, etag = self.ops.get(self.memory.id(change))
        except NotFoundError:
            return change.action == "delete"
        if change.action == "delete" or dict(found.spec) != change.after:
            return False
        self.memory.etags[change.address] = etag
        return True


class PolicyActions(_KindActions):
    """Policies: created disabled and proven by the dry run before they are enabled."""

    ops: PolicyOps

    def __init__(
        self,
        memory: _Memory,
        key_of: Callable[[Change], str],
        ops: PolicyOps,
        validate: Evaluate,
        proofs: Mapping[str, PolicyProof],
    ) -> None:
        super().__init__(memory, key_of)
        self.ops = ops
        self.validate = validate
        self.proofs = proofs

    def table(self) -> dict[str, Handler]:
        return {**super().table(), "promote": self.promote}

    def prove(self, change: Change, *, policy_id: Any = None) -> str:
        """Run the policy's tests through the dry run: by id against the stored policy, or
        inline; raise naming every failing test."""
        after = change.after or {}
        proof = self.proofs.get(change.name)
        if proof is None:
            cases: Sequence[PolicyTestCase] = ()
            softened: frozenset[str] = frozenset()
        else:
            cases, softened = proof.cases, softened_rules(proof.declared, after)
        body = None if policy_id is not None else inline_body(after)
        results = run_cases(
            cases, self.validate, policy_body=body, policy_id=policy_id, softened=softened
        )
        failing = [r for r in results if not r.passed]
        if failing:
            names = ", ".join(f"{r.case.name!r} ({'; '.join(r.failures)})" for r in failing)
            raise PolicyTestsFailedError(f"its tests failed: {names}", count=len(failing))
        return proof_message(results)

    def make(self, change: Change, key: str) -> str:
        result = self.ops.create(change.after or {}, idempotency_key=key)
        policy_id = result.data["id"]
        try:
            proof = self.prove(change, policy_id=policy_id)
        except PolicyTestsFailedError as exc:
            raise CertgovError(f"created disabled, and left disabled: {exc.message}") from None
        if not (change.after or {})["enabled"]:
            return f"created disabled; {proof}"
        self.ops.set_enabled(policy_id, True, if_match=result.etag)
        return f"created disabled, {proof}, enabled"

    def adopt(self, change: Change, existing: Resource) -> str:
        """A create whose policy an interrupted or concurrent run made: a policy left disabled
        is proven and enabled."""
        done = "conflict met: it already existed with the declared content"
        if (change.after or {})["enabled"] and not existing.spec["enabled"]:
            proof = self.prove(change, policy_id=self.memory.id(change))
            self.toggle(change, True)
            return f"{done}, disabled; {proof}, enabled"
        return done

    def update(self, change: Change) -> str:
        return self._replace(change, "updated")

    def promote(self, change: Change) -> str:
        return self._replace(change, "promoted")

    def _replace(self, change: Change, done: str) -> str:
        """Replace a policy; a policy that will be enabled is proven first.

        A live enabled policy is proven inline before the PUT, so that it never spends a moment
        disabled; a disabled one is stored disabled, proven by id, then enabled.
        """
        after, memory = change.after or {}, self.memory
        policy_id = memory.id(change)
        proof = self.proofs.get(change.name)
        if not after["enabled"] or proof is None or not proof.cases:
            memory.remember(
                change, self.ops.replace(policy_id, after, if_match=memory.etag(change))
            )
            return done
        if (change.before or {}).get("enabled"):
            passed = self.prove(change)
            memory.remember(
                change, self.ops.replace(policy_id, after, if_match=memory.etag(change))
            )
            return f"{done} ({passed} inline first)"
        stored = {**after, "enabled": False}
        result = self.ops.replace(policy_id, stored, if_match=memory.etag(change))
        memory.remember(change, result)
        try:
            passed = self.prove(change, policy_id=policy_id)
        except PolicyTestsFailedError as exc:
            raise CertgovError(f"{done} but left disabled: {exc.message}") from None
        memory.remember(change, self.ops.set_enabled(policy_id, True, if_match=result.etag))
        return f"{done} disabled, {passed}, enabled"

    def enable(self, change: Change) -> str:
        # A policy is proven against its stored self before it may block anything.
        proof = self.prove(change, policy_id=self.memory.id(change))
        return f"{proof}; {self.toggle(change, True)}"


class AccountActions(_KindActions):
    """Service accounts: a secret issued by create or regeneration goes to its store at once."""

    ops: AccountOps

    def __init__(
        self,
        memory: _Memory,
        key_of: Callable[[Change], str],
        ops: AccountOps,
        stores: Mapping[str, SecretStore],
        server_url: str,
        adopt_wait: float,
    ) -> None:
        super().__init__(memory, key_of)
        self.ops = ops
        self.stores = stores
        self.server_url = server_url
        self.adopt_wait = adopt_wait

    def table(self) -> dict[str, Handler]:
        return {**super().table(), "rotate": self.rotate}

    def make(self, change: Change, key: str) -> str:
        after = change.after or {}
        result = self.ops.create(after, idempotency_key=key)
        obj, creds, etag = result.data, result.credentials, result.etag
        note = ""
        if creds is None:
            # A replayed answer has no secret: the first attempt's secret is lost; make a new one.
            result = self.ops.regenerate(obj["uuid"], if_match=etag)
            obj, creds, etag = result.data, result.credentials, result.etag
            note = " (earlier answer lost; secret regenerated)"
        stored = self._store_secret(change, obj, creds)
        if not after["enabled"]:
            self.ops.set_enabled(obj["uuid"], False, if_match=etag)
            return f"created disabled{note}{stored}"
        return f"created{note}{stored}"

    def adopt(self, change: Change, existing: Resource) -> str:
        """A create whose account an interrupted or concurrent run made: an account whose secret
        is not in the store gets a new one (If-Match: the object as read now), stored."""
        done = "conflict met: it already existed with the declared content"
        if change.secret and not self._await_record(change.secret, existing):
            # No run is storing this account's secret: whoever made it died first.
            result = self.ops.regenerate(self.memory.id(change), if_match=self.memory.etag(change))
            self.memory.remember(change, result)
            stored = self._store_secret(change, result.data, result.credentials)
            done += f", without its secret in the store: secret regenerated{stored}"
        enabled = bool((change.after or {})["enabled"])
        if existing.spec["enabled"] != enabled:
            self.toggle(change, enabled)
        return done

    def update(self, change: Change) -> str:
        after, memory = change.after or {}, self.memory
        result = self.ops.replace(memory.id(change), after, if_match=memory.etag(change))
        memory.remember(change, result)
        if (change.before or {}).get("enabled") != after["enabled"]:
            self.toggle(change, bool(after["enabled"]))
        return "updated"

    def rotate(self, change: Change) -> str:
        result = self.ops.regenerate(self.memory.id(change), if_match=self.memory.etag(change))
        self.memory.remember(change, result)
        return "secret rotated" + self._store_secret(change, result.data, result.credentials)

    def _store_secret(
        self, change: Change, obj: Mapping[str, Any], creds: Credentials | None
    ) -> str:
        from certgov.apply.stores import SecretRecord, write_with_retry

        target = change.secret
        if not target:
            return "; its secret was not kept (no secret.store is declared)"
        if creds is None:  # pragma: no cover - create and regenerate always carry one
            raise CertgovError(f"the server issued no secret for {change.name}")
        record = SecretRecord(
            uuid=str(obj["uuid"]),
            client_id=creds.client_id,
            client_secret=creds.client_secret,
            secret_created_at=str(obj["secret_created_at"]),
            server_url=self.server_url,
        )
        failpoint("after_create_before_store")
        try:
            write_with_retry(self.stores[target.store], target.path, record)
        except SecretStoreError as exc:
            raise CertgovError(
                f"secret for {change.name} was generated but not stored: {exc.message}; "
                "run apply again to regenerate it"
            ) from None
        failpoint("after_store")
        return f"; secret stored in {target.store} at {target.path}"

    def _await_record(self, target: SecretTarget, existing: Resource) -> bool:
        """Whether the store holds (or, within adopt_wait, comes to hold) the account's record.

        The run that created the account stores its secret moments later; only when none
        appears is it safe to regenerate (a regeneration racing a live run's store write would
        leave the store with a dead secret).
        """
        wanted = (existing.meta.get("client_id"), existing.meta.get("secret_created_at"))
        deadline = time.monotonic() + self.adopt_wait
        while True:
            meta = self.stores[target.store].read_meta(target.path)
            if meta is not None and (meta.client_id, meta.secret_created_at) == wanted:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)


def run(
    document: PlanDocument,
    ops: Operations,
    stores: Mapping[str, SecretStore],
    on_outcome: Callable[[Outcome], None] = lambda outcome: None,
    *,
    proofs: Mapping[str, PolicyProof] | None = None,
    parallelism: int = 8,
    adopt_wait: float = ADOPT_WAIT,
    stop: threading.Event | None = None,
) -> ApplyResult:
    """Apply the document's changes, phase by phase; report each outcome as it happens.

    Raises StalePlanError, before any write, when an object the plan touches changed since.
    Once `stop` is set (Ctrl-C), the changes under way finish (a write cut in half helps
    nobody) and none starts: ApplyInterruptedError carries what was done and what was not.
    """
    current = check_fresh(document, ops.read_live())
    memory = _Memory(current)
    run_id = secrets.token_hex(16)

    def key_of(change: Change) -> str:
        return idempotency_key(document.fingerprint, change.address, run_id)

    kinds: dict[str, _KindActions] = {
        POLICY: PolicyActions(memory, key_of, ops.policies, ops.validate, proofs or {}),
        SERVICE_ACCOUNT: AccountActions(
            memory, key_of, ops.accounts, stores, ops.server, adopt_wait
        ),
    }
    tables = {kind: actions.table() for kind, actions in kinds.items()}

    def dispatch(change: Change) -> str:
        if change.action == "create" and change.address in current:
            return kinds[change.kind].adopt(change, current[change.address])
        handler = tables[change.kind].get(change.action)
        if handler is None:
            raise CertgovError(f"a {change.kind} cannot be {PAST_TENSE[change.action]}")
        try:
            return handler(change)
        except (PreconditionFailedError, NotFoundError) as exc:
            if change.action in ("create", "rotate") or not kinds[change.kind].already_done(change):
                raise
            return f"{PAST_TENSE[change.action]} (the object already was as planned: {exc.code})"

    stop = stop or threading.Event()

    def run_one(change: Change) -> Outcome:
        if stop.is_set():
            return Outcome(change.address, change.action, NOT_ATTEMPTED, NOT_STARTED)
        try:
            outcome = Outcome(change.address, change.action, APPLIED, dispatch(change))
        except CertgovError as exc:
            outcome = Outcome(change.address, change.action, FAILED, exc.message)
        on_outcome(outcome)
        failpoint("after_change")
        return outcome

    outcomes: dict[int, Outcome] = {}
    failed: set[str] = set()
    if document.changes:
        failpoint("before_first_write")
    for action in ACTION_ORDER:
        runnable = []
        for i, change in enumerate(document.changes):
            if change.action != action:
                continue
            if change.address in failed:
                outcomes[i] = Outcome(change.address, action, NOT_ATTEMPTED, EARLIER_FAILED)
                on_outcome(outcomes[i])
            else:
                runnable.append((i, change))
        with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
            futures = [(i, pool.submit(run_one, change)) for i, change in runnable]
            for i, future in futures:
                outcomes[i] = future.result()
                if outcomes[i].status != APPLIED:
                    failed.add(outcomes[i].address)
        if stop.is_set():
            for i, change in enumerate(document.changes):
                not_started = Outcome(change.address, change.action, NOT_ATTEMPTED, NOT_STARTED)
                outcomes.setdefault(i, not_started)
            raise ApplyInterruptedError(_result(document, outcomes))
    return _result(document, outcomes)


def _result(document: PlanDocument, outcomes: Mapping[int, Outcome]) -> ApplyResult:
    done = tuple(outcomes[i] for i in range(len(document.changes)))
    return ApplyResult(document.fingerprint, done, str(document.target))
