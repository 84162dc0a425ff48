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
from certgov.plan import Facts, PlanOptions, plan
from certgov.plan.rollout import PROMOTE
from certgov.run.facts import Connect, read_live, rollout_facts, server_now
from certgov.run.plan import plan_options
from certgov.state import POLICY, SERVICE_ACCOUNT, Resource, State

if TYPE_CHECKING:
    from certgov.client import ClmClient
    from certgov.declarations import Declarations

LEVELS = ("note", "warning", "error")
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


@dataclass
class DriftReport:
    applied_ref: str
    pending: list[dict[str, Any]] = field(default_factory=list)
    out_of_band: list[dict[str, Any]] = field(default_factory=list)
    hygiene: list[Finding] = field(default_factory=list)

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

    def to_json(self, fail_on: str | None = None) -> dict[str, Any]:
        return {
            "format_version": "1",
            "applied_ref": self.applied_ref,
            "pending": self.pending,
            "out_of_band": self.out_of_band,
            "hygiene": [f.to_json() for f in self.hygiene],
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


def _last_event(client: ClmClient, resource: Resource) -> dict[str, Any] | None:
    """The newest change event on a live object: who and when."""
    if resource.kind == POLICY:
        events = client.audit_events(policy_id=resource.meta.get("id"))
        prefix = "policy."
    else:
        events = client.audit_events(service_account=resource.meta.get("id"))
        prefix = "service_account."
    for event in events:
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
    client: ClmClient, applied: Declarations, live: State, now: datetime
) -> list[dict[str, Any]]:
    """What apply of the applied declarations would change now, and who changed it by hand."""
    options = plan_options(applied.config, allow_mass_change=True)
    result = plan(applied.state, live, Facts(now=now), options)
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
                "last_event": _last_event(client, live_obj) if live_obj else None,
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
                "last_event": _last_event(client, obj),
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
    client: ClmClient,
    desired: State,
    live: State,
    now: datetime,
    window: timedelta,
    rollout: Mapping[tuple[str, str], Any],
) -> list[Finding]:
    failures = client.audit_events(
        type="service_account.auth.failure", since=(now - window).isoformat()
    )
    findings = _auth_failures(failures) + account_hygiene(desired, live, now)
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
    applied_ref: str,
    window: timedelta,
    connect: Connect,
    environment: str | None = None,
) -> DriftReport:
    """`certgov drift PATH`: pending changes, out-of-band changes and hygiene findings."""
    from certgov.declarations import load

    head = load(path, ref="HEAD", environment=environment)
    applied = load(path, ref=applied_ref, environment=environment)
    report = DriftReport(applied_ref, pending=pending_changes(head.state, applied.state))
    with connect(applied.config.endpoint) as client:
        desired, live, _ = read_live(client, applied.state)
        now = server_now(client)
        report.out_of_band = out_of_band_changes(client, applied, live, now)
        rollout, _ = rollout_facts(client, desired, live)
        report.hygiene = hygiene_findings(client, desired, live, now, window, rollout)
    return report
