"""The pure planner: `plan(desired, live, facts, options) -> Plan`.

No network, no clock, no printing: the time, the secret store's records and any audit-derived
facts arrive in `facts`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from certgov.diff import DiffEntry, field_diff
from certgov.errors import UnsafePlanError
from certgov.plan.model import (
    DECLARED_BUT_IGNORED,
    DELETE_GRACE,
    OWN_ACCOUNT,
    Action,
    Change,
    Facts,
    Held,
    KindOptions,
    Observed,
    Plan,
    PlanOptions,
    SecretTarget,
    digest,
)
from certgov.plan.rollout import PROMOTE, RolloutDecision, decide, effective_spec
from certgov.rules.accounts import SCOPE_ORDER
from certgov.state import KINDS, POLICY, SERVICE_ACCOUNT, Resource, State


def _matches(name: str, globs: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, g) for g in globs)


def _observed(live: Resource) -> Observed:
    return Observed(live.meta.get("id"), live.meta.get("etag"), digest(live.spec))


def _source(desired: Resource) -> dict[str, Any] | None:
    src = desired.meta.get("source")
    return dict(src) if src else None


def _secret_target(desired: Resource) -> SecretTarget | None:
    secret = desired.meta.get("secret")
    if not secret:
        return None
    return SecretTarget(secret["store"], secret["path"])


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _rotation_reason(
    desired: Resource, live: Resource, facts: Facts
) -> tuple[str, bool, bool] | None:
    """Why the account's secret must be rotated; whether only because the store has no record
    of a secret that is in use (a fresh checkout, a CI runner: that rotation cuts off whoever
    uses it); and whether no one has ever logged in as the account (it cuts no one off)."""
    secret = desired.meta.get("secret")
    if not secret:
        return None
    name = desired.name
    live_created = live.meta.get("secret_created_at")
    if name in facts.store_records:
        record = facts.store_records[name]
        if record is None:
            missing = f"the store {secret['store']} has no record at {secret['path']}"
            if live.meta.get("last_used_at") is None:
                # Nobody has logged in with the secret (a run that died before storing it):
                # a new one cuts no one off.
                return f"{missing}; the account was never used", False, True
            return missing, True, False
        if record.client_id != live.meta.get("client_id") or (
            record.secret_created_at != live_created
        ):
            mismatch = (
                f"the record at {secret['store']}:{secret['path']} does not match the account"
            )
            return mismatch, False, False
    rotate_after = secret.get("rotate_after_seconds")
    created = _parse_time(live_created)
    if rotate_after and created is not None:
        age = facts.now - created
        if age >= timedelta(seconds=rotate_after):
            return (
                f"secret is {age.days} days old; rotate_after is {rotate_after // 86400} days",
                False,
                False,
            )
    return None


def _plan_existing(desired: Resource, live: Resource, facts: Facts) -> list[Change]:
    changes: list[Change] = []
    common: dict[str, Any] = {
        "kind": desired.kind,
        "name": desired.name,
        "source": _source(desired),
    }
    renamed = desired.name != live.name
    if desired.spec != live.spec:
        diff = field_diff(live.spec, desired.spec)
        only_enabled = [d.path for d in diff] == ["enabled"]
        if renamed:
            changes.append(
                Change(
                    "rename",
                    before=live.spec,
                    after=desired.spec,
                    diff=diff,
                    reason=f"previously named {live.name!r}",
                    **common,
                )
            )
        elif only_enabled:
            action: Action = "enable" if desired.spec["enabled"] else "disable"
            changes.append(
                Change(action, before=live.spec, after=desired.spec, diff=diff, **common)
            )
        else:
            changes.append(
                Change("update", before=live.spec, after=desired.spec, diff=diff, **common)
            )
    if desired.kind == SERVICE_ACCOUNT:
        rotation = _rotation_reason(desired, live, facts)
        if rotation is not None:
            changes.append(
                Change(
                    "rotate",
                    before=None,
                    after=None,
                    reason=rotation[0],
                    secret=_secret_target(desired),
                    missing_secret=rotation[1],
                    never_used=rotation[2],
                    **common,
                )
            )
    if not changes:
        return changes
    # What plan saw of the object, digest included, only where something will change: most
    # objects of a large tenant are unchanged.
    observed = _observed(live)
    return [replace(c, observed=observed) for c in changes]


def _with_spec(resource: Resource, spec: Mapping[str, Any]) -> Resource:
    return Resource(resource.kind, resource.name, spec, resource.meta)


def _plan_policy_rollout(
    want: Resource, have: Resource | None, facts: Facts, decisions: list[RolloutDecision]
) -> tuple[Resource, Mapping[str, Any] | None]:
    """The policy as it should be now, and the evidence for any rule it promotes."""
    found = decide(want, have, facts.rollout, facts.now, facts.gate)
    decisions.extend(found)
    if not found:
        return want, None
    promoting = {d.rule: d.to_json() for d in found if d.state == PROMOTE}
    return _with_spec(want, effective_spec(want, found, promote=True)), (promoting or None)


def _mark_promotion(
    changes: list[Change], want: Resource, have: Resource, evidence: Mapping[str, Any]
) -> list[Change]:
    """A change that only promotes rules is a `promote`; any other change carries the evidence."""
    decisions = [RolloutDecision(want.name, rule, PROMOTE, "") for rule in evidence]
    unpromoted = effective_spec(want, decisions, promote=False)
    out = []
    for change in changes:
        if change.action == "update":
            action: Action = "promote" if unpromoted == dict(have.spec) else "update"
            change = replace(change, action=action, evidence=evidence)
        out.append(change)
    return out


NOT_KEPT = "the generated secret is not kept anywhere (no secret: is declared)"


def _plan_create(desired: Resource) -> Change:
    steps: tuple[str, ...] = ()
    secret = _secret_target(desired)
    if desired.kind == POLICY:
        n = len(desired.meta.get("tests") or ())
        proof = (
            f"prove by the dry run ({n} test{'s' if n != 1 else ''})"
            if n
            else "prove by a dry-run probe (no tests declared)"
        )
        steps = ("create disabled", proof)
        if desired.spec["enabled"]:
            steps += ("enable",)
    elif desired.kind == SERVICE_ACCOUNT:
        kept = "store the generated secret" if secret else NOT_KEPT
        steps = ("create", kept)
        if not desired.spec["enabled"]:
            steps += ("disable",)
    return Change(
        "create",
        desired.kind,
        desired.name,
        before=None,
        after=desired.spec,
        source=_source(desired),
        secret=secret,
        steps=steps,
    )


def _plan_unmanaged(live: Resource, options: KindOptions, now: datetime) -> Change | Held | None:
    """What `manage.<kind>.prune` does to an undeclared live object: disable it, and with
    `delete`, delete it once it has stayed disabled for `delete_after` (a grace period in which
    it can be declared again); until then, a Held saying when."""
    common: dict[str, Any] = {"kind": live.kind, "name": live.name, "observed": _observed(live)}
    enabled = bool(live.spec.get("enabled"))
    if options.prune in ("disable", "delete") and enabled:
        later = (
            "; it is disabled before a later plan deletes it" if options.prune == "delete" else ""
        )
        return Change(
            "disable",
            before=live.spec,
            after={**live.spec, "enabled": False},
            diff=(DiffEntry("enabled", True, False),),
            reason=f"not declared{later}",
            **common,
        )
    if options.prune != "delete":
        return None
    since = _parse_time(live.meta.get("updated_at"))
    if since is not None and now - since < options.delete_after:
        due = (since + options.delete_after).isoformat()
        reason = (
            f"not declared, and disabled (last changed {since.isoformat()}); deleted by a plan "
            f"from {due}, once it has stayed disabled for delete_after "
            f"({options.delete_after.days} days)"
        )
        return Held(live.address, "delete", DELETE_GRACE, reason)
    return Change("delete", before=live.spec, after=None, reason="not declared", **common)


def _scope_level(spec: Mapping[str, Any] | None) -> int:
    scopes = (spec or {}).get("scopes") or ()
    return max((SCOPE_ORDER.index(s) for s in scopes if s in SCOPE_ORDER), default=-1)


def _cuts_off(change: Change) -> str | None:
    """What a change to an account would take away from whoever logs in as it."""
    if change.action in ("disable", "delete"):
        return f"it would be {change.action}d"
    if change.action == "rotate":
        return "its secret would be regenerated"
    if change.after is not None and change.before is not None:
        if change.before.get("enabled") and not change.after.get("enabled"):
            return "it would be disabled"
        if _scope_level(change.after) < _scope_level(change.before):
            return "its scopes would narrow"
    return None


def _spare_own_account(changes: list[Change], own: str | None) -> tuple[list[Change], list[Held]]:
    """Hold every change that would cut off the account this run is logged in as."""
    if own is None:
        return changes, []
    kept, held = [], []
    for change in changes:
        mine = change.kind == SERVICE_ACCOUNT and change.observed and change.observed.id == own
        what = _cuts_off(change) if mine else None
        if what is None:
            kept.append(change)
            continue
        reason = (
            f"this run is logged in as this account, and {what}: "
            "make that change as another admin account"
        )
        held.append(Held(change.address, change.action, OWN_ACCOUNT, reason))
    return kept, held


# What the mass-change guard counts: each cuts someone off.
GUARDED = ("disable", "delete", "rotate")
CUT_OFF = {
    SERVICE_ACCOUNT: "disabled, deleted or have their secret rotated",
    POLICY: "disabled or deleted",
}


def _check_safety(changes: list[Change], live: State, options: PlanOptions) -> None:
    if options.allow_mass_change:
        return
    problems = []
    for kind in KINDS:
        ignore = options.kind(kind).ignore
        managed = [r for r in live.of_kind(kind) if not _matches(r.name, ignore)]
        removing = {c.name for c in changes if c.kind == kind and c.action in GUARDED}
        if len(managed) >= options.min_objects and removing:
            fraction = len(removing) / len(managed)
            if fraction > options.max_changes_fraction:
                problems.append(
                    f"{len(removing)} of {len(managed)} {kind} objects "
                    f"({fraction:.0%}) would be {CUT_OFF[kind]}, more than the "
                    f"{options.max_changes_fraction:.0%} allowed by safety.max_changes_fraction"
                )
    if problems:
        raise UnsafePlanError(
            "refusing a mass change: "
            + "; ".join(problems)
            + ". Check the declarations and the manage.prune settings; if this is intended, "
            "run again with --allow-mass-change."
        )


def plan(desired: State, live: State, facts: Facts, options: PlanOptions) -> Plan:
    """Diff desired against live and decide every change; raises UnsafePlanError."""
    changes: list[Change] = []
    unchanged = 0
    ignored: list[str] = []
    unmanaged: list[str] = []
    rollouts: list[RolloutDecision] = []
    held: list[Held] = []
    for kind in KINDS:
        kind_opts = options.kind(kind)
        live_by_name = {r.name: r for r in live.of_kind(kind)}
        claimed: set[str] = set()
        for want in desired.of_kind(kind):
            if _matches(want.name, kind_opts.ignore):
                ignored.append(want.address)
                reason = f"declared, but manage.{kind}.ignore matches it, so it is not planned"
                held.append(Held(want.address, None, DECLARED_BUT_IGNORED, reason))
                continue
            have = live_by_name.get(want.name)
            if have is None:
                for old in want.meta.get("previous_names") or ():
                    candidate = live_by_name.get(old)
                    if (
                        candidate is not None
                        and old not in claimed
                        and (desired.get(kind, old) is None)
                    ):
                        have = candidate
                        break
            evidence = None
            if kind == POLICY:
                want, evidence = _plan_policy_rollout(want, have, facts, rollouts)
            if have is None:
                changes.append(_plan_create(want))
                continue
            claimed.add(have.name)
            found = _plan_existing(want, have, facts)
            if evidence:
                found = _mark_promotion(found, want, have, evidence)
            changes.extend(found)
            if not found:
                unchanged += 1
        for name, have in live_by_name.items():
            if name in claimed or desired.get(kind, name) is not None:
                continue
            if _matches(name, kind_opts.ignore):
                ignored.append(have.address)
                continue
            unmanaged.append(have.address)
            pruned = _plan_unmanaged(have, kind_opts, facts.now)
            if isinstance(pruned, Held):
                held.append(pruned)
            elif pruned is not None:
                changes.append(pruned)
    if options.targets:
        wanted = set(options.targets)
        changes = [c for c in changes if c.address in wanted]
    if options.only_actions:
        changes = [c for c in changes if c.action in options.only_actions]
    changes, own = _spare_own_account(changes, facts.own_account)
    _check_safety(changes, live, options)
    return Plan(
        changes=tuple(sorted(changes, key=Change.sort_key)),
        unchanged=unchanged,
        ignored=tuple(sorted(ignored)),
        unmanaged=tuple(sorted(unmanaged)),
        rollouts=tuple(sorted(rollouts, key=lambda d: (d.policy, d.rule))),
        held=tuple(sorted([*held, *own], key=lambda h: (h.address, h.action or ""))),
    )
