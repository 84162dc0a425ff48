"""Making a plan: read live state and facts, run the pure planner, prove changed policies by the
dry run, back-test them, and build the plan document once from all of it."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from certgov.background import Background
from certgov.errors import DeclarationError, InvalidRequestError, Position, Problem
from certgov.plan import Facts, KindOptions, Plan, PlanOptions, plan
from certgov.plan.document import PlanDocument, PlanSource, Target, build_document
from certgov.plan.model import StoreRecordMeta, TestReport
from certgov.policytest import (
    Evaluate,
    PolicyTestResult,
    cases_for,
    inline_body,
    run_cases,
    softened_rules,
    summarise,
)
from certgov.run.backtest import DEFAULT_MAX_REQUESTS, backtest
from certgov.run.facts import (
    Connect,
    Tenant,
    TenantReading,
    file_store_records,
    gate_facts,
    managed_kinds,
    open_stores,
    read_live,
    rollout_evidence,
    rollout_facts,
    rollout_warnings,
    server_now,
    store_facts,
)
from certgov.run.snapshot import DEFAULT_MAX_AGE, load_snapshot
from certgov.state import KINDS, POLICY

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
        kind: KindOptions(
            prune=config.manage[kind].prune,
            ignore=tuple(config.manage[kind].ignore),
            delete_after=timedelta(seconds=config.manage[kind].delete_after_seconds),
        )
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


@dataclass(frozen=True)
class PlanRun:
    """A plan and its document, with the policy test results that went into it."""

    plan: Plan
    document: PlanDocument
    test_results: tuple[PolicyTestResult, ...]

    @property
    def failed_tests(self) -> list[PolicyTestResult]:
        return [r for r in self.test_results if not r.passed]


def client_evaluator(client: ClmClient) -> Evaluate:
    """The dry run through the server's validate endpoint."""

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


@dataclass(frozen=True)
class Planning:
    """How to plan: the options `plan` and `apply PATH` share."""

    targets: tuple[str, ...] = ()
    allow_mass_change: bool = False
    backtest_days: int = 14
    backtest_max: int = DEFAULT_MAX_REQUESTS
    rotate_missing: bool = False
    only_actions: tuple[str, ...] = ()
    snapshot: str | None = None
    """A snapshot file to compare the kinds the account cannot read with."""
    max_snapshot_age: timedelta = DEFAULT_MAX_AGE


def make_plan(
    decls: Declarations,
    client: ClmClient,
    stores: Mapping[str, SecretStore],
    *,
    source_path: str,
    connect: Connect,
    planning: Planning = Planning(),
    now: datetime | None = None,
    tenant: Tenant | None = None,
    records: Mapping[str, StoreRecordMeta | None] | None = None,
) -> PlanRun:
    """Read live state (unless `tenant` holds it) and facts, plan, prove changed policies, and
    build the document. `records` are store records already read, by `store:path`."""
    from certgov.client import canonical_api_root
    from certgov.declarations.warnings import file_store_warnings

    when = now or (tenant.now if tenant is not None else server_now(client))
    target = Target(canonical_api_root(client.server), decls.environment)
    snapshot = None
    if planning.snapshot is not None:
        snapshot = load_snapshot(planning.snapshot)
        snapshot.check(target, when, planning.max_snapshot_age, planning.snapshot)
    desired, live, coverage = read_live(
        client, decls.state, managed_kinds(decls), snapshot, when, tenant
    )
    rollout, unread = rollout_facts(client, desired, live)
    gate = gate_facts(decls.config, connect, desired, live)
    session = client.logged_in()
    facts = Facts(
        now=when,
        store_records=store_facts(
            desired,
            stores,
            {**(records or {}), **(snapshot.store_records if snapshot is not None else {})},
            parallelism=client.parallelism,
        ),
        rollout=rollout,
        own_account=session.account_uuid,
        gate=gate,
    )
    options = plan_options(
        decls.config,
        allow_mass_change=planning.allow_mass_change,
        targets=planning.targets,
        only_actions=planning.only_actions,
    )
    the_plan = plan(desired, live, facts, options)
    tests = prove_policies(decls, the_plan, client)
    days = planning.backtest_days
    backtests = (
        backtest(client, the_plan.changes, when, days, max_requests=planning.backtest_max)
        if days
        else {}
    )
    document = build_document(
        the_plan,
        server=client.server,
        source=PlanSource(source_path, decls.git_commit, decls.digest),
        created_at=when.isoformat(),
        extra_warnings=(
            *file_store_warnings(decls, os.environ),
            *rollout_warnings(unread, gate),
        ),
        tests={a: TestReport.from_json(summarise(rs)) for a, rs in tests.items()},
        backtests=backtests,
        target=target,
        coverage=coverage,
        rotate_missing=planning.rotate_missing,
        evidence=rollout_evidence(desired, unread, gate),
    )
    all_results = tuple(r for rs in tests.values() for r in rs)
    return PlanRun(the_plan, document, all_results)


class Loaded(NamedTuple):
    decls: Declarations
    stores: dict[str, SecretStore]
    client: ClmClient
    tenant: Tenant
    records: dict[str, StoreRecordMeta | None]
    """The file stores' records, by `store:path`."""


@contextmanager
def loaded_with_tenant(
    path: str, connect: Connect, environment: str | None = None
) -> Iterator[Loaded]:
    """The declarations at `path`, their secret stores, and the API client with what it read
    of the tenant and of the file stores while they loaded (certgov.yaml alone names the API
    and the stores). The tenant's errors are raised only when the declarations have none; the
    session is revoked when the block ends."""
    from certgov.declarations import load, load_config

    config = load_config(path, environment)
    root = Path(path)
    with (
        TenantReading(connect, config.endpoint) as reading,
        Background(
            lambda: file_store_records(config.secret_stores, root), "certgov-records"
        ) as records,
    ):

        def alongside() -> None:
            reading.start()
            records.start()

        decls = load(path, environment=environment, alongside=alongside)
        with open_stores(decls) as stores:
            client, tenant = reading.result()
            # Read for the stores certgov.yaml named before loading: the same, but for a race.
            read = records.result() if decls.config.secret_stores == config.secret_stores else {}
            yield Loaded(decls, stores, client, tenant, read)


def plan_folder(
    path: str, connect: Connect, planning: Planning = Planning(), environment: str | None = None
) -> PlanRun:
    """`certgov plan PATH`: load the declarations and, meanwhile, read the live tenant; then
    plan the one against the other."""
    with loaded_with_tenant(path, connect, environment) as loaded:
        return make_plan(
            loaded.decls,
            loaded.client,
            loaded.stores,
            source_path=path,
            connect=connect,
            planning=planning,
            tenant=loaded.tenant,
            records=loaded.records,
        )
