"""The steps around the pure planner that talk to the outside: read live state, gather facts,
prove changed policies through the dry run, and assemble the plan document.

Commands (`plan`, `apply`, `drift`, ...) call these; the planner itself never does I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from certgov.backtest import backtest
from certgov.errors import (
    DeclarationError,
    ExtensionMissingError,
    InvalidRequestError,
    Position,
    Problem,
    ScopeError,
)
from certgov.plan import Facts, KindOptions, Plan, PlanOptions, plan
from certgov.plan.document import build_document, refingerprint
from certgov.plan.model import StoreRecordMeta
from certgov.plan.rollout import RolloutFacts
from certgov.policytest import (
    PolicyTestResult,
    cases_for,
    inline_body,
    run_cases,
    softened_rules,
    summarise,
)
from certgov.state import KINDS, POLICY, SERVICE_ACCOUNT, State

if TYPE_CHECKING:
    from certgov.apply.stores import SecretStore
    from certgov.client import ClmClient
    from certgov.declarations import Config, Declarations


def plan_options(
    config: Config,
    *,
    allow_mass_change: bool = False,
    targets: tuple[str, ...] = (),
    only_actions: tuple[str, ...] = (),
) -> PlanOptions:
    manage = {
        kind: KindOptions(prune=config.manage[kind].prune, ignore=tuple(config.manage[kind].ignore))
        for kind in KINDS
        if kind in config.manage
    }
    return PlanOptions(
        manage=manage,
        max_changes_fraction=config.safety.max_changes_fraction,
        min_objects=config.safety.min_objects,
        allow_mass_change=allow_mass_change,
        targets=targets,
        only_actions=only_actions,
    )


def store_facts(
    desired: State, stores: Mapping[str, SecretStore]
) -> dict[str, StoreRecordMeta | None]:
    """The meta of each declared account's store record (never the secret)."""
    records: dict[str, StoreRecordMeta | None] = {}
    for resource in desired.of_kind(SERVICE_ACCOUNT):
        secret = resource.meta.get("secret")
        if not secret:
            continue
        meta = stores[secret["store"]].read_meta(secret["path"])
        records[resource.name] = (
            None if meta is None else StoreRecordMeta(meta.client_id, meta.secret_created_at)
        )
    return records


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


def server_now(client: ClmClient) -> datetime:
    """The server's clock, read off the session it issued (expires_at less expires_in).

    Rollout clocks and audit windows are compared with the audit log's timestamps, which the
    server writes; reading time from the same clock keeps a skewed client from promoting early.
    """
    info = client.session or client.verify()
    return (info.expires_at - timedelta(seconds=info.expires_in)).astimezone(UTC)


def read_live(client: ClmClient, desired: State) -> tuple[State, State, tuple[str, ...]]:
    """Live state of both kinds; with an account that may not read service accounts (a CI job
    with scope read or write), the policies alone, and service accounts left out of the plan."""
    from certgov.client.live import read_live_state

    try:
        return desired, read_live_state(client), ()
    except ScopeError as exc:
        live = read_live_state(client, kinds=(POLICY,))
        policies_only = State.build(desired.of_kind(POLICY))
        note = f"service accounts were not planned: {exc.message}"
        return policies_only, live, (note,)


def rollout_facts(
    client: ClmClient, desired: State, live: State
) -> tuple[dict[tuple[str, str], RolloutFacts], tuple[str, ...]]:
    """Audit-derived rollout facts, or none and a warning saying why they could not be read."""
    from certgov.rolloutfacts import gather

    try:
        return gather(client, desired, live), ()
    except (ScopeError, ExtensionMissingError) as exc:
        return {}, (f"rollout evidence skipped, so no rule is promoted: {exc.message}",)


@dataclass(frozen=True)
class PlanRun:
    """A plan and its document, with the policy test results that went into it."""

    plan: Plan
    document: dict[str, Any]
    test_results: tuple[PolicyTestResult, ...]

    @property
    def failed_tests(self) -> list[PolicyTestResult]:
        return [r for r in self.test_results if not r.passed]


def client_evaluator(client: ClmClient) -> Any:
    def evaluate(
        request: Mapping[str, Any], policy: Mapping[str, Any] | None, policy_id: Any
    ) -> Mapping[str, Any]:
        return client.validate(request=dict(request), policy=policy, policy_id=policy_id)

    return evaluate


def prove_policies(
    decls: Declarations, the_plan: Plan, client: ClmClient
) -> dict[str, list[PolicyTestResult]]:
    """Run the tests of every created or updated policy inline through the dry run.

    A policy that the server refuses is reported at its declaration, before anything applies.
    """
    evaluate = client_evaluator(client)
    results: dict[str, list[PolicyTestResult]] = {}
    problems: list[Problem] = []
    for change in the_plan.changes:
        if change.kind != POLICY or change.action not in ("create", "update", "rename"):
            continue
        resource = decls.state.get(POLICY, change.name)
        if resource is None:  # pragma: no cover - the planner only plans declared policies
            continue
        try:
            results[change.address] = run_cases(
                cases_for(resource, root=decls.root),
                evaluate,
                policy_body=inline_body(change.after or resource.spec),
                softened=softened_rules(resource.spec, change.after or resource.spec),
            )
        except InvalidRequestError as exc:
            src = resource.meta.get("source") or {}
            where = Position(str(src.get("file", "")), src.get("line", 0), src.get("col", 0))
            details = exc.details if isinstance(exc.details, list) else []
            fields = [(str(d.get("field", "")), str(d.get("message", ""))) for d in details]
            for field_path, message in fields or [("", exc.message)]:
                problems.append(Problem(where, field_path, f"refused by the server: {message}"))
    if problems:
        raise DeclarationError(problems)
    return results


def make_plan(
    decls: Declarations,
    client: ClmClient,
    stores: Mapping[str, SecretStore],
    *,
    server: str,
    source_path: str,
    allow_mass_change: bool = False,
    targets: tuple[str, ...] = (),
    now: datetime | None = None,
    backtest_days: int = 14,
    only_actions: tuple[str, ...] = (),
) -> PlanRun:
    """Read live state and facts, plan, prove changed policies, and build the document."""
    desired, live, warnings = read_live(client, decls.state)
    when = now or server_now(client)
    rollout, rollout_warnings = rollout_facts(client, desired, live)
    facts = Facts(now=when, store_records=store_facts(desired, stores), rollout=rollout)
    options = plan_options(
        decls.config,
        allow_mass_change=allow_mass_change,
        targets=targets,
        only_actions=only_actions,
    )
    the_plan = plan(desired, live, facts, options)
    warnings += rollout_warnings
    tests = prove_policies(decls, the_plan, client)
    document = build_document(
        the_plan,
        server=server,
        source={"path": source_path, "git_commit": decls.git_commit, "digest": decls.digest},
        created_at=when.isoformat(),
        extra_warnings=warnings,
    )
    for change in document["changes"]:
        if change["address"] in tests:
            change["tests"] = summarise(tests[change["address"]])
    if backtest_days > 0:
        backtest(client, document["changes"], when, backtest_days)
    refingerprint(document)
    all_results = tuple(r for rs in tests.values() for r in rs)
    return PlanRun(the_plan, document, all_results)
