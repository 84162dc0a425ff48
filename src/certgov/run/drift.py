"""Drift: three questions answered separately.

- pending: the declarations at HEAD differ from those at the last applied ref;
- out of band: the live tenant differs from the declarations at the applied ref (someone changed
  the platform by hand), each attributed to the last audit event on the object;
- hygiene: the platform's monitoring advice (authentication failures, accounts about to expire,
  old secrets, unused accounts, rollout rules ready to promote).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from certgov.diff import field_diff
from certgov.errors import ExtensionMissingError, ScopeError
from certgov.plan import Facts, PlanOptions, plan
from certgov.plan.document import LIVE
from certgov.plan.rollout import PROMOTE
from certgov.run.facts import (
    Connect,
    managed_kinds,
    read_live,
    rollout_facts,
    rollout_warnings,
    server_now,
)
from certgov.run.plan import plan_options
from certgov.state import POLICY, SERVICE_ACCOUNT, Resource, State

if TYPE_CHECKING:
    from certgov.client import ClmClient
    from certgov.declarations import Config

LEVELS = ("note", "warning", "error")
# The checks drift may have to skip, by the names its JSON report uses.
PENDING_CHECK = "pending"
ATTRIBUTION = "attribution"
AUTH_FAILURES = "auth-failures"
ACCOUNT_HYGIENE = "account-hygiene"
READY_TO_PROMOTE = "ready-to-promote"
EXIT_PENDING, EXIT_OUT_OF_BAND, EXIT_HYGIENE = 2, 4, 8
EXPIRY_WARNING = timedelta(days=30)
UNUSED_AFTER = timedelta(days=90)
DECLARED_META = ("secret", "previous_names", "tests", "rollout")


@dataclass(frozen=True)
class Finding:
    level: str
    check: str
    subject: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {
            "level": self.level,
            "check": self.check,
            "subject": self.subject,
            "message": self.message,
        }


@dataclass(frozen=True)
class Skipped:
    """A check drift could not make, and why: it reports what it checked, never more."""

    check: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"check": self.check, "reason": self.reason}


@dataclass
class DriftReport:
    applied_ref: str
    pending: list[dict[str, Any]] = field(default_factory=list)
    out_of_band: list[dict[str, Any]] = field(default_factory=list)
    hygiene: list[Finding] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    target: str = ""
    environment: str | None = None

    def exit_code(self, fail_on: str | None) -> int:
        code = 0
        if self.pending:
            code += EXIT_PENDING
        if self.out_of_band:
            code += EXIT_OUT_OF_BAND
        if fail_on is not None and any(
            LEVELS.index(f.level) >= LEVELS.index(fail_on) for f in self.hygiene
        ):
            code += EXIT_HYGIENE
        return code

    @property
    def clean(self) -> bool:
        return not (self.pending or self.out_of_band or self.hygiene)

    def summary(self) -> str:
        """One line for an alert: the counts, and the findings worth waking someone for."""
        where = f"{self.target} (environment {self.environment})" if self.environment else ""
        line = (
            f"certgov drift on {where or self.target}: {len(self.pending)} pending, "
            f"{len(self.out_of_band)} out of band, {len(self.hygiene)} hygiene findings"
        )
        alerts = [f for f in self.hygiene if f.level != "note"]
        return "\n".join([line, *(f"- {f.subject}: {f.message}" for f in alerts)])

    def to_json(self, fail_on: str | None = None) -> dict[str, Any]:
        environment = {"environment": self.environment} if self.environment else {}
        return {
            "format_version": "1",
            "target": self.target,
            **environment,
            "applied_ref": self.applied_ref,
            "pending": self.pending,
            "out_of_band": self.out_of_band,
            "hygiene": [f.to_json() for f in self.hygiene],
            "skipped": [s.to_json() for s in self.skipped],
            "exit_code": self.exit_code(fail_on),
        }


def _declared(resource: Resource) -> dict[str, Any]:
    """What a declaration says, compared between two refs: spec and the settings beside it."""
    extra = {k: resource.meta.get(k) for k in DECLARED_META if resource.meta.get(k)}
    tests = extra.get("tests")
    if tests:
        extra["tests"] = [{k: v for k, v in t.items() if k != "source"} for t in tests]
    return {**resource.spec, **extra}


def pending_changes(head: State, applied: State) -> list[dict[str, Any]]:
    """Declarations that differ between HEAD and the applied ref, by address."""
    out: list[dict[str, Any]] = []
    keys = sorted({(r.kind, r.name) for r in head} | {(r.kind, r.name) for r in applied})
    for kind, name in keys:
        now, then = head.get(kind, name), applied.get(kind, name)
        if now is None and then is not None:
            out.append({"address": then.address, "change": "removed", "diff": []})
        elif then is None and now is not None:
            out.append({"address": now.address, "change": "added", "diff": []})
        elif now is not None and then is not None and _declared(now) != _declared(then):
            diff = field_diff(_declared(then), _declared(now))
            out.append(
                {
                    "address": now.address,
                    "change": "changed",
                    "diff": [d.to_json() for d in diff],
                }
            )
    return out


class AuditReader:
    """The audit log, read until the account turns out not to be allowed to: then each check
    that needs it is skipped, with the reason, instead of failing the whole report."""

    def __init__(self, client: ClmClient, skipped: list[Skipped]) -> None:
        self.client = client
        self.skipped = skipped
        self.refused: str | None = None

    def events(self, check: str, **filters: Any) -> list[dict[str, Any]] | None:
        if self.refused is None:
            try:
                return self.client.audit_events(**filters)
            except (ScopeError, ExtensionMissingError) as exc:
                self.refused = exc.message
        if not any(s.check == check for s in self.skipped):
            self.skipped.append(Skipped(check, f"the audit log cannot be read: {self.refused}"))
        return None


def _last_event(audit: AuditReader, resource: Resource) -> dict[str, Any] | None:
    """The newest change event on a live object: who and when."""
    if resource.kind == POLICY:
        events = audit.events(ATTRIBUTION, policy_id=resource.meta.get("id"))
        prefix = "policy."
    else:
        events = audit.events(ATTRIBUTION, service_account=resource.meta.get("id"))
        prefix = "service_account."
    for event in events or ():
        kind = str(event.get("type"))
        target = event.get("target") or {}
        if not kind.startswith(prefix) or ".auth." in kind or ".session." in kind:
            continue
        if prefix == "service_account." and str(target.get("id")) != str(resource.meta.get("id")):
            continue
        actor = event.get("actor") or {}
        return {
            "type": kind,
            "actor": actor.get("name") or actor.get("service_account"),
            "ip": actor.get("ip"),
            "occurred_at": event.get("occurred_at"),
        }
    return None


def out_of_band_changes(
    audit: AuditReader, config: Config, desired: State, live: State, now: datetime
) -> list[dict[str, Any]]:
    """What apply of the applied declarations would change now, and who changed it by hand."""
    options = plan_options(config, allow_mass_change=True)
    result = plan(desired, live, Facts(now=now), options)
    by_address = {r.address: r for r in live}
    out = []
    for change in result.changes:
        if change.action in ("rotate", "promote"):
            continue  # hygiene, not drift
        live_obj = (
            by_address.get(f"{change.kind}/{change.before['name']}") if change.before else None
        )
        out.append(
            {
                "address": change.address,
                "action": change.action,
                "diff": [d.to_json() for d in change.diff],
                "last_event": _last_event(audit, live_obj) if live_obj else None,
            }
        )
    for address in result.unmanaged:
        if any(c["address"] == address for c in out):
            continue
        obj = by_address[address]
        out.append(
            {
                "address": address,
                "action": "unmanaged",
                "diff": [],
                "last_event": _last_event(audit, obj),
            }
        )
    return sorted(out, key=lambda c: (c["address"], c["action"]))


def _auth_failures(events: Sequence[Mapping[str, Any]]) -> list[Finding]:
    counts: Counter[tuple[str, str, str]] = Counter()
    for event in events:
        actor = event.get("actor") or {}
        who = str(actor.get("name") or actor.get("service_account") or "unknown account")
        counts[(who, str(actor.get("ip")), str(event.get("code")))] += 1
    return [
        Finding(
            "warning",
            "auth-failures",
            who,
            f"{n} failed login{'s' if n != 1 else ''} ({code}) from {ip}",
        )
        for (who, ip, code), n in sorted(counts.items())
    ]


def _time(text: Any) -> datetime | None:
    return datetime.fromisoformat(str(text)) if text else None


def account_hygiene(desired: State, live: State, now: datetime) -> list[Finding]:
    findings = []
    for account in live.of_kind(SERVICE_ACCOUNT):
        if not account.spec["enabled"]:
            continue
        expires = _time(account.spec["expires_at"])
        if expires is not None and now <= expires <= now + EXPIRY_WARNING:
            days = (expires - now).days
            findings.append(
                Finding("warning", "expiring", account.address, f"expires in {days} days")
            )
        used = _time(account.meta.get("last_used_at"))
        created = _time(account.meta.get("created_at"))
        if (used and now - used > UNUSED_AFTER) or (
            used is None and created and now - created > UNUSED_AFTER
        ):
            since = f"since {used.date()}" if used else "ever"
            findings.append(
                Finding("note", "unused", account.address, f"not used {since}: disable it?")
            )
        want = desired.get(SERVICE_ACCOUNT, account.name)
        secret = want.meta.get("secret") if want else None
        made = _time(account.meta.get("secret_created_at"))
        rotate = secret.get("rotate_after_seconds") if secret else None
        if rotate and made and now - made > timedelta(seconds=rotate):
            findings.append(
                Finding(
                    "warning",
                    "old-secret",
                    account.address,
                    f"secret is {(now - made).days} days old, rotate_after is "
                    f"{rotate // 86400} days: run plan and apply to rotate it",
                )
            )
    return findings


def hygiene_findings(
    audit: AuditReader,
    desired: State,
    live: State,
    now: datetime,
    window: timedelta,
    rollout: Mapping[tuple[str, str], Any] | None,
) -> list[Finding]:
    """The platform's monitoring advice; `rollout` None when the evidence could not be read."""
    failures = audit.events(
        AUTH_FAILURES, type="service_account.auth.failure", since=(now - window).isoformat()
    )
    findings = _auth_failures(failures or []) + account_hygiene(desired, live, now)
    if rollout is not None:
        ready = plan(
            desired, live, Facts(now=now, rollout=rollout), PlanOptions(allow_mass_change=True)
        )
        for decision in ready.rollouts:
            if decision.state == PROMOTE:
                findings.append(
                    Finding(
                        "note",
                        "ready-to-promote",
                        f"Policy/{decision.policy}",
                        f"rule {decision.rule} is ready to become hard ({decision.detail})",
                    )
                )
    return sorted(findings, key=lambda f: (-LEVELS.index(f.level), f.check, f.subject))


def detect_drift(
    path: str,
    applied_ref: str | None,
    window: timedelta,
    connect: Connect,
    environment: str | None = None,
) -> DriftReport:
    """`certgov drift PATH`: pending changes, out-of-band changes and hygiene findings.

    Degrades instead of failing: a check it cannot make (no git, an account that may not read
    service accounts or the audit log) is listed under `skipped`, with the reason.
    """
    from certgov.client import canonical_api_root
    from certgov.declarations import load
    from certgov.gitops.refs import applied_ref as resolve_ref

    skipped: list[Skipped] = []
    ref, why = resolve_ref(path, applied_ref)
    if ref is None:
        applied = load(path, environment=environment)
        skipped.append(Skipped(PENDING_CHECK, str(why)))
        report = DriftReport("(the working tree)", skipped=skipped)
    else:
        applied = load(path, ref=ref, environment=environment)
        head = load(path, ref="HEAD", environment=environment)
        pending = pending_changes(head.state, applied.state)
        report = DriftReport(ref, pending=pending, skipped=skipped)
    report.environment = applied.environment
    with connect(applied.config.endpoint) as client:
        report.target = canonical_api_root(client.server)
        desired, live, coverage = read_live(client, applied.state, managed_kinds(applied))
        for kind, compared in coverage.items():
            if compared.compared != LIVE:
                skipped.append(Skipped(f"out-of-band {kind}", str(compared.reason)))
                if kind == SERVICE_ACCOUNT:
                    skipped.append(Skipped(ACCOUNT_HYGIENE, str(compared.reason)))
        now = server_now(client)
        audit = AuditReader(client, skipped)
        report.out_of_band = out_of_band_changes(audit, applied.config, desired, live, now)
        rollout, unread = rollout_facts(client, desired, live)
        if unread is not None:
            skipped.append(Skipped(READY_TO_PROMOTE, rollout_warnings(unread, None)[0]))
        report.hygiene = hygiene_findings(
            audit, desired, live, now, window, None if unread else rollout
        )
    return report
