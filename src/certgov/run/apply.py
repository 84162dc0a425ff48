"""Applying: a reviewed plan file exactly, or a fresh plan of a folder once it is confirmed.

Both paths end in the one executor (`certgov.apply.executor.run`), over the same operations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from certgov.apply.executor import PolicyProof
from certgov.apply.result import ApplyResult, Outcome
from certgov.errors import CertgovError, PolicyTestsFailedError, SourceChangedError, UsageError
from certgov.plan.document import PlanDocument, load_plan_file
from certgov.policytest import cases_for
from certgov.run.facts import Connect, open_stores
from certgov.run.plan import PlanRun, make_plan
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


@dataclass(frozen=True)
class ApplyOptions:
    """How `certgov apply` was asked to run."""

    auto_approve: bool = False
    auto_promote: bool = False
    ignore_source: bool = False
    expect_plan: str | None = None
    expect_fingerprint: str | None = None
    targets: tuple[str, ...] = ()
    allow_mass_change: bool = False
    backtest_days: int = 14


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

    if options.targets or options.allow_mass_change or options.auto_promote:
        raise UsageError(
            "--target, --allow-mass-change and --auto-promote belong to planning, "
            "not to a plan file"
        )
    document = load_plan_file(path)
    decls = load(document.source.path)
    if decls.digest != document.source.digest and not options.ignore_source:
        raise SourceChangedError(
            f"the declarations at {document.source.path} changed since the plan was "
            "made; make a new plan, or pass --ignore-source to apply it anyway"
        )
    return document, decls


def apply(target: str, options: ApplyOptions, connect: Connect, hooks: ApplyHooks) -> ApplyResult:
    """Apply the plan file at `target`, or plan the folder at `target`, show, confirm, apply.

    An empty result (no outcomes) means there was nothing to apply.
    """
    from certgov.apply.executor import run
    from certgov.apply.ops import Operations
    from certgov.declarations import load

    plan_file = Path(target).is_file()
    if plan_file:
        document, decls = _load_plan_file(target, options)
    else:
        decls = load(target)
    with open_stores(decls) as stores, connect(decls.config.server) as client:
        if not plan_file:
            planned = make_plan(
                decls,
                client,
                stores,
                server=client.server,
                source_path=target,
                allow_mass_change=options.allow_mass_change,
                targets=options.targets,
                backtest_days=options.backtest_days,
                only_actions=("promote",) if options.auto_promote else (),
            )
            document = planned.document
            hooks.planned(planned)
            if planned.failed_tests:
                raise PolicyTestsFailedError.counted(len(planned.failed_tests))
        check_expected(document, options.expect_fingerprint, options.expect_plan)
        if not document.changes:
            return ApplyResult(document.fingerprint, ())
        asks = not (plan_file or options.auto_approve or options.auto_promote)
        if asks and not hooks.confirm(document):
            raise CertgovError("apply cancelled: the answer was not 'yes'; nothing was changed")
        client.ensure_session(SESSION_MARGIN)
        return run(
            document,
            Operations.over(client),
            stores,
            hooks.outcome,
            proofs=policy_proofs(decls, document),
            parallelism=client.parallelism,
        )
