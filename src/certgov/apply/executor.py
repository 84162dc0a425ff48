"""The executor: applies exactly the changes of one plan document, and nothing else.

Before any write it re-reads the live objects and refuses a stale plan (an object the plan
touches has changed since). Writes carry `If-Match` (the etag re-read now, once the object's
content is confirmed unchanged) and creates an `Idempotency-Key` derived from the plan's
fingerprint, the address and the run, so a retried create is replayed rather than duplicated.
Objects that an interrupted or concurrent run created are adopted, not duplicated. Phases run
in the planner's dependency order; the objects of one phase run in parallel.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from certgov.apply.failpoints import failpoint
from certgov.errors import (
    CertgovError,
    ConflictError,
    NotFoundError,
    PreconditionFailedError,
    SecretStoreError,
)
from certgov.plan.model import ACTION_ORDER, digest
from certgov.plan.planner import field_diff
from certgov.policytest import cases_for, inline_body, run_cases, softened_rules
from certgov.state import (
    POLICY,
    SERVICE_ACCOUNT,
    Resource,
    State,
    api_body,
    policy_spec,
    service_account_spec,
)

if TYPE_CHECKING:
    from certgov.apply.stores import SecretStore
    from certgov.client import ClmClient

APPLIED, FAILED, NOT_ATTEMPTED = "applied", "failed", "not attempted"
# How long to wait for another run to store the secret of an account it created.
ADOPT_WAIT = 5.0
PAST_TENSE = {
    "rename": "renamed",
    "create": "created",
    "update": "updated",
    "enable": "enabled",
    "disable": "disabled",
    "delete": "deleted",
    "rotate": "rotated",
    "promote": "promoted",
}


class StalePlanError(CertgovError):
    """An object the plan touches changed after the plan was made."""


class PolicyTestFailedError(CertgovError):
    """A policy's tests did not hold against the dry run during apply."""


class ApplyFailedError(CertgovError):
    """Some changes failed; the others were applied or not attempted."""


@dataclass(frozen=True)
class Outcome:
    address: str
    action: str
    status: str
    message: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "address": self.address,
            "action": self.action,
            "status": self.status,
            "message": self.message,
        }


@dataclass(frozen=True)
class ApplyResult:
    fingerprint: str
    outcomes: tuple[Outcome, ...]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status != APPLIED]

    def counts(self) -> dict[str, int]:
        counts = {PAST_TENSE[a]: 0 for a in ACTION_ORDER}
        for o in self.outcomes:
            if o.status == APPLIED:
                counts[PAST_TENSE[o.action]] += 1
        counts["failed"] = sum(1 for o in self.outcomes if o.status == FAILED)
        counts["not attempted"] = sum(1 for o in self.outcomes if o.status == NOT_ATTEMPTED)
        return counts

    def summary_line(self) -> str:
        c = self.counts()
        parts = [f"{c['created']} created", f"{c['updated']} updated"]
        for word in ("renamed", "enabled", "disabled", "deleted", "rotated", "promoted"):
            if c[word]:
                parts.append(f"{c[word]} {word}")
        parts.append(f"{c['failed']} failed")
        if c["not attempted"]:
            parts.append(f"{c['not attempted']} not attempted")
        return "Apply complete: " + ", ".join(parts) + "."

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": "1",
            "plan_fingerprint": self.fingerprint,
            "summary": self.counts(),
            "results": [o.to_json() for o in self.outcomes],
        }


def _live_index(live: State) -> dict[tuple[str, Any], Resource]:
    return {(r.kind, r.meta.get("id")): r for r in live}


def _same_content(spec: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    # A run creates a policy disabled and enables it once proven, so `enabled` may lag.
    return {**spec, "enabled": None} == {**after, "enabled": None}


def check_fresh(document: Mapping[str, Any], live: State) -> dict[str, Resource]:
    """The live object behind each change, refusing the plan when one changed since planning.

    A create whose object now exists with the declared content (an interrupted or concurrent
    run made it) maps to that object, for the executor to adopt; changes to objects the plan
    does not touch do not matter.
    """
    by_id = _live_index(live)
    current: dict[str, Resource] = {}
    stale: list[str] = []
    for change in document["changes"]:
        address, kind = change["address"], change["kind"]
        observed = change.get("observed")
        if observed is None:
            existing = live.get(kind, change["name"])
            if existing is None:
                continue
            if _same_content(existing.spec, change["after"]):
                current[address] = existing
                continue
            stale.append(f"{address}: created by someone else since the plan")
            continue
        obj = by_id.get((kind, observed["id"]))
        if obj is None:
            stale.append(f"{address}: deleted by someone else since the plan")
            continue
        if digest(obj.spec) != observed["digest"]:
            changed = field_diff(change["before"] or {}, obj.spec)
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


class Executor:
    """Runs one plan document's changes against the API, phase by phase."""

    def __init__(
        self,
        client: ClmClient,
        stores: Mapping[str, SecretStore],
        *,
        document: Mapping[str, Any],
        current: Mapping[str, Resource],
        desired: State,
        root: Path,
        server_url: str,
        parallelism: int = 8,
        emit: Callable[[Outcome], None] = lambda outcome: None,
        adopt_wait: float = ADOPT_WAIT,
    ) -> None:
        self.client = client
        self.stores = stores
        self.document = document
        self.current = current
        self.desired = desired
        self.root = root
        self.server_url = server_url
        self.parallelism = max(1, parallelism)
        self.emit = emit
        self.etags: dict[str, str | None] = {
            address: obj.meta.get("etag") for address, obj in current.items()
        }
        self.run_id = secrets.token_hex(16)
        self.adopt_wait = adopt_wait
        self.ids: dict[str, Any] = {address: obj.meta.get("id") for address, obj in current.items()}

    def run(self) -> ApplyResult:
        changes = list(self.document["changes"])
        outcomes: dict[int, Outcome] = {}
        failed_addresses: set[str] = set()
        if changes:
            failpoint("before_first_write")
        for action in ACTION_ORDER:
            batch = [(i, c) for i, c in enumerate(changes) if c["action"] == action]
            runnable = []
            for i, change in batch:
                if change["address"] in failed_addresses:
                    outcomes[i] = Outcome(
                        change["address"],
                        action,
                        NOT_ATTEMPTED,
                        "an earlier change of this object failed",
                    )
                    self.emit(outcomes[i])
                else:
                    runnable.append((i, change))
            with ThreadPoolExecutor(max_workers=self.parallelism) as pool:
                for i, outcome in zip(
                    [i for i, _ in runnable],
                    pool.map(self._run_one, [c for _, c in runnable]),
                    strict=True,
                ):
                    outcomes[i] = outcome
                    if outcome.status != APPLIED:
                        failed_addresses.add(outcome.address)
        return ApplyResult(
            str(self.document["fingerprint"]), tuple(outcomes[i] for i in range(len(changes)))
        )

    def _run_one(self, change: Mapping[str, Any]) -> Outcome:
        address, action = change["address"], change["action"]
        try:
            message = self._dispatch(change)
            outcome = Outcome(address, action, APPLIED, message)
        except CertgovError as exc:
            outcome = Outcome(address, action, FAILED, exc.message)
        self.emit(outcome)
        failpoint("after_change")
        return outcome

    def _dispatch(self, change: Mapping[str, Any]) -> str:
        action, address = change["action"], change["address"]
        if action == "create" and address in self.current:
            return self._adopt(change, self.current[address])
        handler: Callable[[Mapping[str, Any]], str] = getattr(self, f"_{action}")
        try:
            return handler(change)
        except (PreconditionFailedError, NotFoundError) as exc:
            if action in ("create", "rotate") or not self._already_done(change):
                raise
            return f"{PAST_TENSE[action]} (the object already was as planned: {exc.code})"

    def _already_done(self, change: Mapping[str, Any]) -> bool:
        """After a 412 or 404 on a write: whether the object is now exactly as the change wanted
        (an earlier attempt whose answer was lost, retried by the client, made the change)."""
        kind, object_id = change["kind"], self._id(change)
        try:
            if kind == POLICY:
                found = self.client.get_policy(object_id)
                spec = policy_spec(found.data)
            else:
                found = self.client.get_service_account(object_id)
                spec = service_account_spec(found.data)
        except NotFoundError:
            return bool(change["action"] == "delete")
        if change["action"] == "delete" or dict(spec) != change["after"]:
            return False
        self.etags[change["address"]] = found.etag
        return True

    # -- helpers -------------------------------------------------------------------------------

    def _id(self, change: Mapping[str, Any]) -> Any:
        return self.ids[change["address"]]

    def _remember(self, address: str, result: Any) -> None:
        self.etags[address] = result.etag

    def _store_secret(self, change: Mapping[str, Any], obj: Mapping[str, Any], creds: Any) -> str:
        from certgov.apply.stores import SecretRecord, write_with_retry

        target = change.get("secret")
        if not target:
            return "; its secret was not kept (no secret.store is declared)"
        record = SecretRecord(
            uuid=str(obj["uuid"]),
            client_id=creds.client_id,
            client_secret=creds.client_secret,
            secret_created_at=str(obj["secret_created_at"]),
            server_url=self.server_url,
        )
        failpoint("after_create_before_store")
        try:
            write_with_retry(self.stores[target["store"]], target["path"], record)
        except SecretStoreError as exc:
            raise CertgovError(
                f"secret for {change['name']} was generated but not stored: {exc.message}; "
                "run apply again to regenerate it"
            ) from None
        failpoint("after_store")
        return f"; secret stored in {target['store']} at {target['path']}"

    # -- actions -------------------------------------------------------------------------------

    def _create(self, change: Mapping[str, Any]) -> str:
        key = idempotency_key(str(self.document["fingerprint"]), change["address"], self.run_id)
        after = change["after"]
        if change["kind"] == POLICY:
            return self._create_policy(change, after, key)
        return self._create_account(change, after, key)

    def _conflict(self, change: Mapping[str, Any], exc: ConflictError) -> str:
        """A 409 on create: adopt the object when another run made it with the declared content."""
        from certgov.client.live import live_resource

        kind, name, address = change["kind"], change["name"], change["address"]
        find = self.client.find_policy if kind == POLICY else self.client.find_service_account
        found = find(name)
        existing = live_resource(kind, found.data) if found is not None else None
        if existing is None or not _same_content(existing.spec, change["after"]):
            raise CertgovError(f"{address}: {exc.message}") from None
        self.ids[address] = existing.meta.get("id")
        self.etags[address] = existing.meta.get("etag")
        return self._adopt(change, existing)

    def _cases(self, name: str, after: Mapping[str, Any]) -> tuple[list[Any], frozenset[str]]:
        resource = self.desired.get(POLICY, name)
        if resource is None:
            return [], frozenset()
        return cases_for(resource, root=self.root), softened_rules(resource.spec, after)

    def _prove(self, change: Mapping[str, Any], *, policy_id: Any = None) -> str:
        """Run the policy's tests through the dry run: by id against the stored policy, or
        inline; raise naming every failing test."""
        after = change["after"]
        cases, softened = self._cases(change["name"], after)

        def evaluate(request: Mapping[str, Any], policy: Any, pid: Any) -> Mapping[str, Any]:
            return self.client.validate(request=dict(request), policy=policy, policy_id=pid)

        body = None if policy_id is not None else inline_body(after)
        results = run_cases(
            cases, evaluate, policy_body=body, policy_id=policy_id, softened=softened
        )
        failing = [r for r in results if not r.passed]
        if failing:
            names = ", ".join(f"{r.case.name!r} ({'; '.join(r.failures)})" for r in failing)
            raise PolicyTestFailedError(f"its tests failed: {names}")
        return f"{len(results)} dry-run test{'s' if len(results) != 1 else ''} passed"

    def _create_policy(self, change: Mapping[str, Any], after: Mapping[str, Any], key: str) -> str:
        body = {**api_body(POLICY, after), "is_enabled": False}
        try:
            result = self.client.create_policy(body, idempotency_key=key)
        except ConflictError as exc:
            return self._conflict(change, exc)
        policy_id = result.data["id"]
        try:
            proof = self._prove(change, policy_id=policy_id)
        except PolicyTestFailedError as exc:
            raise CertgovError(f"created disabled, and left disabled: {exc.message}") from None
        if not after["enabled"]:
            return f"created disabled; {proof}"
        self.client.enable_policy(policy_id, if_match=result.etag)
        return f"created disabled, {proof}, enabled"

    def _create_account(self, change: Mapping[str, Any], after: Mapping[str, Any], key: str) -> str:
        try:
            result = self.client.create_service_account(
                api_body(SERVICE_ACCOUNT, after), idempotency_key=key
            )
        except ConflictError as exc:
            return self._conflict(change, exc)
        obj, creds, etag = result.data, result.credentials, result.etag
        note = ""
        if creds is None:
            # A replayed answer has no secret: the first attempt's secret is lost; make a new one.
            result = self.client.regenerate_secret(obj["uuid"], if_match=etag)
            obj, creds, etag = result.data, result.credentials, result.etag
            note = " (earlier answer lost; secret regenerated)"
        stored = self._store_secret(change, obj, creds)
        if not after["enabled"]:
            self.client.disable_service_account(obj["uuid"], if_match=etag)
            return f"created disabled{note}{stored}"
        return f"created{note}{stored}"

    def _adopt(self, change: Mapping[str, Any], existing: Resource) -> str:
        """A create whose object an interrupted or concurrent run made: finish what it left.

        A policy left disabled is proven and enabled; an account whose secret is not in the
        store gets a new one (If-Match: the object as read now), stored.
        """
        after, address = change["after"], change["address"]
        done = "conflict met: it already existed with the declared content"
        if change["kind"] == POLICY:
            if after["enabled"] and not existing.spec["enabled"]:
                proof = self._prove(change, policy_id=self._id(change))
                self._remember(
                    address,
                    self.client.enable_policy(self._id(change), if_match=self.etags.get(address)),
                )
                return f"{done}, disabled; {proof}, enabled"
            return done
        target = change.get("secret")
        if target and not self._await_record(target, existing):
            # No run is storing this account's secret: whoever made it died first.
            result = self.client.regenerate_secret(
                self._id(change), if_match=self.etags.get(address)
            )
            self._remember(address, result)
            stored = self._store_secret(change, result.data, result.credentials)
            done += f", without its secret in the store: secret regenerated{stored}"
        if existing.spec["enabled"] != after["enabled"]:
            self._toggle(change, after["enabled"])
        return done

    def _await_record(self, target: Mapping[str, Any], existing: Resource) -> bool:
        """Whether the store holds (or, within adopt_wait, comes to hold) the account's record.

        The run that created the account stores its secret moments later; only when none
        appears is it safe to regenerate (a regeneration racing a live run's store write would
        leave the store with a dead secret).
        """
        wanted = (existing.meta.get("client_id"), existing.meta.get("secret_created_at"))
        deadline = time.monotonic() + self.adopt_wait
        while True:
            meta = self.stores[target["store"]].read_meta(target["path"])
            if meta is not None and (meta.client_id, meta.secret_created_at) == wanted:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)

    def _update(self, change: Mapping[str, Any]) -> str:
        kind, after = change["kind"], change["after"]
        address = change["address"]
        if kind == POLICY:
            return self._update_policy(change)
        result = self.client.replace_service_account(
            self._id(change), api_body(SERVICE_ACCOUNT, after), if_match=self.etags.get(address)
        )
        self._remember(address, result)
        if change["before"]["enabled"] != after["enabled"]:
            toggle = (
                self.client.enable_service_account
                if after["enabled"]
                else self.client.disable_service_account
            )
            self._remember(address, toggle(self._id(change), if_match=self.etags.get(address)))
        return "updated"

    def _update_policy(self, change: Mapping[str, Any]) -> str:
        """Replace a policy; a policy that will be enabled is proven first.

        A live enabled policy is proven inline before the PUT, so that it never spends a moment
        disabled; a disabled one is stored disabled, proven by id, then enabled.
        """
        after, address, policy_id = change["after"], change["address"], self._id(change)
        if not after["enabled"] or not self._cases(change["name"], after)[0]:
            self._remember(
                address,
                self.client.replace_policy(
                    policy_id, api_body(POLICY, after), if_match=self.etags.get(address)
                ),
            )
            return "updated"
        if change["before"]["enabled"]:
            proof = self._prove(change)
            self._remember(
                address,
                self.client.replace_policy(
                    policy_id, api_body(POLICY, after), if_match=self.etags.get(address)
                ),
            )
            return f"updated ({proof} inline first)"
        body = {**api_body(POLICY, after), "is_enabled": False}
        result = self.client.replace_policy(policy_id, body, if_match=self.etags.get(address))
        self._remember(address, result)
        try:
            proof = self._prove(change, policy_id=policy_id)
        except PolicyTestFailedError as exc:
            raise CertgovError(f"updated but left disabled: {exc.message}") from None
        self._remember(address, self.client.enable_policy(policy_id, if_match=result.etag))
        return f"updated disabled, {proof}, enabled"

    def _rename(self, change: Mapping[str, Any]) -> str:
        self._update(change)
        return f"renamed from {change['before']['name']!r}"

    def _toggle(self, change: Mapping[str, Any], enable: bool) -> str:
        address = change["address"]
        call: Callable[..., Any]
        if change["kind"] == POLICY:
            call = self.client.enable_policy if enable else self.client.disable_policy
        else:
            call = (
                self.client.enable_service_account
                if enable
                else self.client.disable_service_account
            )
        self._remember(address, call(self._id(change), if_match=self.etags.get(address)))
        return "enabled" if enable else "disabled"

    def _enable(self, change: Mapping[str, Any]) -> str:
        if change["kind"] == POLICY:
            # A policy is proven against its stored self before it may block anything.
            proof = self._prove(change, policy_id=self._id(change))
            return f"{proof}; {self._toggle(change, True)}"
        return self._toggle(change, True)

    def _disable(self, change: Mapping[str, Any]) -> str:
        return self._toggle(change, False)

    def _rotate(self, change: Mapping[str, Any]) -> str:
        address = change["address"]
        result = self.client.regenerate_secret(self._id(change), if_match=self.etags.get(address))
        self._remember(address, result)
        return "secret rotated" + self._store_secret(change, result.data, result.credentials)

    def _promote(self, change: Mapping[str, Any]) -> str:
        return self._update(change).replace("updated", "promoted")

    def _delete(self, change: Mapping[str, Any]) -> str:
        address = change["address"]
        call: Callable[..., Any] = (
            self.client.delete_policy
            if change["kind"] == POLICY
            else self.client.delete_service_account
        )
        call(self._id(change), if_match=self.etags.get(address))
        return "deleted"
