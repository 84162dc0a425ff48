"""Applying: a reviewed plan file exactly, or a fresh plan of a folder once it is confirmed.

Both paths end in the one executor (`certgov.apply.executor.run`), over the same operations.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Protocol

from certgov.apply.executor import PolicyProof
from certgov.apply.result import ApplyResult, Outcome
from certgov.errors import (
    CertgovError,
    MissingSecretsError,
    PartialPlanError,
    PolicyTestsFailedError,
    SourceChangedError,
    TargetMismatchError,
    UsageError,
)
from certgov.plan.document import PlanDocument, Target, load_plan_file
from certgov.policytest import cases_for
from certgov.run.facts import Connect, open_stores
from certgov.run.plan import Planning, PlanRun, loaded_with_tenant, make_plan
from certgov.state import POLICY

if TYPE_CHECKING:
    from certgov.declarations import Declarations

# A session must outlive the writes: renew it when less than this is left before applying.
SESSION_MARGIN = timedelta(minutes=10)


class ApplyHooks(Protocol):
    """What the command shows and asks while apply runs."""

    def planned(self, run: PlanRun) -> None:
        """A fresh plan of a folder was made: show it (and any failing policy test)."""

    def confirm(self, document: PlanDocument) -> bool:
        """Ask whether to apply the shown plan; True to go on."""
        ...

    def outcome(self, outcome: Outcome) -> None:
        """One change was applied, failed, or not attempted."""

    def stopping(self) -> None:
        """Ctrl-C came while changes were applied: the run is winding down."""

    def starting(self, total: int) -> None:
        """The executor is about to apply `total` changes."""

    def finished(self) -> None:
        """The executor is done (or stopped)."""


@dataclass(frozen=True)
class ApplyOptions:
    """How `certgov apply` was asked to run; `planning` applies to `apply PATH` only."""

    auto_approve: bool = False
    auto_promote: bool = False
    ignore_source: bool = False
    expect_plan: str | None = None
    expect_fingerprint: str | None = None
    planning: Planning = field(default_factory=Planning)
    environment: str | None = None


def check_expected(
    document: PlanDocument, fingerprint: str | None, reviewed_file: str | None
) -> None:
    """Refuse a plan whose changes are not the reviewed ones (a plan's fingerprint, or its
    changes_fingerprint, which survives a re-plan at the merged commit)."""
    from certgov.plan.compare import compare_changes

    reviewed = load_plan_file(reviewed_file) if reviewed_file else None
    wanted = [fingerprint] if fingerprint else []
    if reviewed is not None:
        wanted.append(reviewed.changes_fingerprint)
    for expected in wanted:
        if expected not in (document.fingerprint, document.changes_fingerprint):
            lines = compare_changes(reviewed.changes, document.changes) if reviewed else []
            detail = "".join(f"\n  {line}" for line in lines)
            raise CertgovError(
                f"the plan's changes ({document.changes_fingerprint}) are not the reviewed "
                f"ones ({expected}); nothing was applied{detail}"
            )


def check_applicable(document: PlanDocument, target: Target) -> None:
    """Refuse, before any write, a plan for another target (server or environment), a partial
    plan, and rotations of secrets the store has no record of unless the plan was made with
    --rotate-missing."""
    if document.target != target:
        where = (
            "--env (or CERTGOV_ENV) and --url"
            if document.target.environment or target.environment
            else "--url (or CERTGOV_URL, or server: in certgov.yaml)"
        )
        raise TargetMismatchError(
            f"the plan was made for {document.target}, not for {target}, where this apply "
            f"would write; make the plan against this target, or point {where} at the plan's; "
            "nothing was applied"
        )
    if document.partial:
        missing = "; ".join(f"{k}: {c.reason}" for k, c in document.not_planned.items())
        raise PartialPlanError(
            f"refusing a partial plan: it did not compare {', '.join(document.not_planned)} "
            f"({missing}); make the plan with an account that can read every managed kind; "
            "nothing was applied"
        )
    missing_secrets = [c.address for c in document.changes if c.missing_secret]
    if missing_secrets and not document.rotate_missing:
        raise MissingSecretsError(
            f"refusing to rotate the secret of {', '.join(missing_secrets)} only because the "
            "store has no record of it: that cuts off whoever uses the current secret. Store "
            "the secret in use with `certgov secret adopt ServiceAccount/NAME`, or make the plan "
            "with --rotate-missing to rotate anyway; nothing was applied"
        )


def policy_proofs(decls: Declarations, document: PlanDocument) -> dict[str, PolicyProof]:
    """The dry-run proof of each declared policy that the plan changes."""
    proofs = {}
    for change in document.changes:
        resource = decls.state.get(POLICY, change.name) if change.kind == POLICY else None
        if resource is not None:
            cases = tuple(cases_for(resource, root=decls.root))
            proofs[change.name] = PolicyProof(cases, resource.spec)
    return proofs


def _load_plan_file(path: str, options: ApplyOptions) -> tuple[PlanDocument, Declarations]:
    from certgov.declarations import load

    planning = options.planning
    if (
        planning.targets
        or planning.allow_mass_change
        or planning.rotate_missing
        or options.auto_promote
    ):
        raise UsageError(
            "--target, --allow-mass-change, --rotate-missing and --auto-promote belong to "
            "planning, not to a plan file"
        )
    document = load_plan_file(path)
    source = Path(document.source.path)
    if not (source / "certgov.yaml").is_file():
        raise SourceChangedError(
            f"the plan was made from the declarations in {document.source.path!r}, and "
            f"{source.resolve()} holds no certgov.yaml: run apply in the folder plan ran in"
        )
    decls = load(document.source.path, environment=options.environment)
    if decls.digest != document.source.digest and not options.ignore_source:
        here = "" if source.is_absolute() else f" (from here, {source.resolve()})"
        raise SourceChangedError(
            f"the declarations at {document.source.path}{here} changed since the plan was "
            "made; make a new plan, or pass --ignore-source to apply it anyway"
        )
    return document, decls


def apply(target: str, options: ApplyOptions, connect: Connect, hooks: ApplyHooks) -> ApplyResult:
    """Apply the plan file at `target`, or plan the folder at `target`, show, confirm, apply.

    An empty result (no outcomes) means there was nothing to apply.
    """
    from certgov.apply.executor import run
    from certgov.apply.ops import Operations
    from certgov.client import canonical_api_root

    plan_file = Path(target).is_file()
    with ExitStack() as stack:
        if plan_file:
            document, decls = _load_plan_file(target, options)
            stores = stack.enter_context(open_stores(decls))
            client = stack.enter_context(connect(decls.config.endpoint))
        else:
            # As plan does: the tenant is read while the declarations load.
            loaded = stack.enter_context(loaded_with_tenant(target, connect, options.environment))
            decls, stores, client = loaded.decls, loaded.stores, loaded.client
            planning = options.planning
            if options.auto_promote:
                planning = replace(planning, only_actions=("promote",))
            planned = make_plan(
                decls,
                client,
                stores,
                source_path=target,
                connect=connect,
                planning=planning,
                tenant=loaded.tenant,
                records=loaded.records,
            )
            document = planned.document
            hooks.planned(planned)
            if planned.failed_tests:
                raise PolicyTestsFailedError.counted(len(planned.failed_tests))
        check_expected(document, options.expect_fingerprint, options.expect_plan)
        check_applicable(document, Target(canonical_api_root(client.server), decls.environment))
        if not document.changes:
            return ApplyResult(document.fingerprint, (), str(document.target))
        asks = not (plan_file or options.auto_approve or options.auto_promote)
        if asks and not hooks.confirm(document):
            raise CertgovError("apply cancelled: the answer was not 'yes'; nothing was changed")
        client.ensure_session(SESSION_MARGIN)
        hooks.starting(len(document.changes))
        try:
            with stop_on_interrupt(hooks) as stop:
                return run(
                    document,
                    Operations.over(client),
                    stores,
                    hooks.outcome,
                    proofs=policy_proofs(decls, document),
                    parallelism=client.parallelism,
                    stop=stop,
                )
        finally:
            hooks.finished()


@contextmanager
def stop_on_interrupt(hooks: ApplyHooks) -> Iterator[threading.Event]:
    """While changes are applied, the first Ctrl-C stops the apply cleanly (nothing new starts;
    what is under way finishes and is reported); a second one quits at once."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def first(signum: int, frame: FrameType | None) -> None:
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        hooks.stopping()

    previous = signal.signal(signal.SIGINT, first)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)
