"""The changes a security reviewer must see, one line each, derived from the plan's changes.

Pure: the same changes give the same risks. The plan document lists them under `risks`, and the
text and markdown views open with them, so that a workflow can ask the security owners for a
review whenever the list is not empty.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from certgov.plan.model import Change
from certgov.rules.accounts import SCOPE_ORDER
from certgov.rules.catalogue import BY_ACTION
from certgov.state import POLICY, SERVICE_ACCOUNT


@dataclass(frozen=True)
class Risk:
    address: str
    risk: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"address": self.address, "risk": self.risk, "detail": self.detail}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Risk:
        return cls(str(data["address"]), str(data["risk"]), str(data["detail"]))


def _level(spec: Mapping[str, Any]) -> int:
    return max(
        (SCOPE_ORDER.index(s) for s in spec.get("scopes") or () if s in SCOPE_ORDER), default=-1
    )


def _networks(entries: Sequence[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(e, strict=False) for e in entries]


def _uncovered(before: Sequence[str], after: Sequence[str]) -> list[str]:
    """Allowlist entries of `after` that no entry of `before` contains."""
    old = _networks(before)
    return [
        str(new)
        for new in _networks(after)
        if not any(new.version == o.version and new.subnet_of(o) for o in old)  # type: ignore[arg-type]
    ]


def _account_risks(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> Iterator[tuple[str, str]]:
    if not before:
        where = ", ".join(after["ip_allowlist"]) or "any address"
        until = after["expires_at"] or "never expires"
        yield "account created", f"scopes {', '.join(after['scopes'])}; from {where}; {until}"
        return
    if _level(after) > _level(before):
        yield "scopes widened", f"{', '.join(before['scopes'])} → {', '.join(after['scopes'])}"
    allow_before, allow_after = before["ip_allowlist"], after["ip_allowlist"]
    if allow_before and not allow_after:
        yield "allowlist emptied", "any address may log in"
    elif allow_before:
        added = _uncovered(allow_before, allow_after)
        if added:
            yield "allowlist widened", f"adds {', '.join(added)}"
    expires_before, expires_after = before["expires_at"], after["expires_at"]
    if expires_before is not None and expires_after is None:
        yield "expiry removed", f"never expires (was {expires_before})"
    elif expires_before is not None and expires_after > expires_before:
        yield "expiry extended", f"{expires_before} → {expires_after}"
    if not before["enabled"] and after["enabled"]:
        yield "account enabled", "it may log in again"


def _hard(spec: Mapping[str, Any]) -> set[str]:
    if not spec.get("enabled"):
        return set()
    return {r["action"] for r in spec.get("rules") or () if r.get("fail") == "hard"}


def _policy_risks(before: Mapping[str, Any], after: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    old_domains = set((before.get("matching_criteria") or {}).get("domains") or ())
    for domain in after["matching_criteria"]["domains"]:
        if domain.startswith("*.") and domain not in old_domains:
            yield "wildcard domain added", domain
    for action in sorted(_hard(after) - _hard(before)):
        yield "rule made hard", f"{action} now blocks requests"
    after_rules = {r["action"]: r for r in after["rules"]}
    for rule in before.get("rules") or ():
        current = after_rules.get(rule["action"])
        if current is None:
            yield "rule removed", rule["action"]
        elif rule.get("fail") == "hard" and current.get("fail") == "soft":
            yield "rule softened", f"{rule['action']} only warns now"
        elif rule.get("fail") == current.get("fail") == "hard" and after.get("enabled"):
            loosened = _loosened(rule["action"], rule.get("values"), current.get("values"))
            if loosened:
                yield "rule loosened", f"{rule['action']}: {'; '.join(loosened)}"
    if before.get("enabled") and not after["enabled"]:
        yield "policy disabled", "none of its rules applies"


def _loosened(action: str, before: Any, after: Any) -> list[str]:
    """How a hard rule's new values let through requests its old ones blocked: a limit moved
    the looser way, a required key usage or subject value dropped. A value replaced by another
    (an algorithm, a suffix) is neither looser nor tighter, and is not listed."""
    spec = BY_ACTION.get(action)
    old, new = before or {}, after or {}
    out = []
    for value in spec.values if spec else ():
        was, now = old.get(value.key), new.get(value.key)
        if was is None or was == now:
            continue
        if now is None:
            out.append(f"{value.key} no longer required (was {_shown(was)})")
        elif value.looser:
            if _moved(was, now) == value.looser:
                out.append(f"{value.key} {was} → {now}")
        elif value.type == "enum_list" and set(was) - set(now):
            out.append(f"{value.key} no longer requires {', '.join(sorted(set(was) - set(now)))}")
    return out


def _moved(was: Any, now: Any) -> str:
    """`higher` or `lower` for two integers (or their digit strings) that differ, else ``."""
    try:
        before, after = int(was), int(now)
    except (TypeError, ValueError):
        return ""
    return "higher" if after > before else "lower" if after < before else ""


def _shown(value: Any) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)


_SIMPLE = {
    (SERVICE_ACCOUNT, "disable"): ("account disabled", "it can no longer log in"),
    (SERVICE_ACCOUNT, "delete"): ("account deleted", "it can no longer log in"),
    (SERVICE_ACCOUNT, "rotate"): ("secret rotated", "whoever uses the current secret is cut off"),
    (POLICY, "delete"): ("policy removed", "none of its rules applies"),
}


def change_risks(change: Change) -> list[Risk]:
    """The risks of one change, in a stable order."""
    simple = _SIMPLE.get((change.kind, change.action))
    if change.never_used:
        simple = ("secret rotated", "no one has logged in with the current secret")
    if simple is not None:
        found: Iterator[tuple[str, str]] = iter([simple])
    elif change.after is None:
        return []
    elif change.kind == SERVICE_ACCOUNT:
        found = _account_risks(change.before or {}, change.after)
    else:
        found = _policy_risks(change.before or {}, change.after)
    return [Risk(change.address, risk, detail) for risk, detail in found]


def risks(changes: Sequence[Change]) -> tuple[Risk, ...]:
    """Every risk of the plan, in the order of its changes."""
    return tuple(r for change in changes for r in change_risks(change))
