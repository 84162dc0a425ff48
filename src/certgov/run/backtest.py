"""Back-testing: what would a changed policy have done to recent real certificate requests?

The `certificate.requested` events of the audit log keep each evaluated request; they are
replayed through the dry run with the new policy inline (and the old one, for an update), and
each policy gets a count of requests that would newly warn or newly block, with examples.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from certgov.errors import ExtensionMissingError, ScopeError
from certgov.plan.model import Backtest, Change
from certgov.policytest import inline_body
from certgov.rules.domains import matches_any
from certgov.state import POLICY

if TYPE_CHECKING:
    from certgov.client import ClmClient

MAX_EXAMPLES = 5
RANK = {"pass": 0, "warn": 1, "block": 2}
BACKTESTED = ("create", "update", "rename", "promote")


def recent_requests(
    client: ClmClient, now: datetime, days: int
) -> tuple[list[Mapping[str, Any]] | None, str | None]:
    """The requests evaluated in the last `days` days (newest first, duplicates once), or None
    and why they could not be read."""
    since = (now - timedelta(days=days)).isoformat()
    try:
        events = client.audit_events(type="certificate.requested", since=since)
    except (ScopeError, ExtensionMissingError) as exc:
        return None, exc.message
    seen: set[str] = set()
    requests = []
    for event in events:
        request = (event.get("details") or {}).get("request")
        if not isinstance(request, Mapping):
            continue
        key = repr(sorted(request.items()))
        if key not in seen:
            seen.add(key)
            requests.append(request)
    return requests, None


def _names(request: Mapping[str, Any]) -> list[str]:
    names = [str(request.get("common_name") or "")]
    names += [str(n) for n in (request.get("sans") or {}).get("dns") or ()]
    return [n for n in names if n]


def _applies(spec: Mapping[str, Any] | None, request: Mapping[str, Any]) -> bool:
    if not spec:
        return False
    criteria = spec["matching_criteria"]
    return request.get("action") == criteria["action"] and matches_any(
        criteria["domains"], _names(request)
    )


def backtest_change(
    client: ClmClient, change: Change, requests: Sequence[Mapping[str, Any]], days: int
) -> Backtest:
    """Replay the requests that the old or the new policy matches (the others pass either way)."""
    before, after = change.before, change.after or {}
    relevant = [r for r in requests if _applies(after, r) or _applies(before, r)]
    newly: dict[str, list[str]] = {"warn": [], "block": []}
    for request in relevant:
        new = client.validate(request=dict(request), policy=inline_body(after))["result"]
        old = "pass"
        if before is not None:
            old = client.validate(request=dict(request), policy=inline_body(before))["result"]
        if RANK[new] > RANK[old] and new in newly:
            newly[new].append(str(request.get("common_name") or _names(request)[0]))
    return Backtest(
        days=days,
        requests=len(relevant),
        newly_warn=len(newly["warn"]),
        newly_block=len(newly["block"]),
        examples=tuple((newly["block"] + newly["warn"])[:MAX_EXAMPLES]),
    )


def backtest(
    client: ClmClient, changes: Sequence[Change], now: datetime, days: int
) -> dict[str, Backtest]:
    """The back-test of each changed policy among `changes`, by address."""
    targets = [c for c in changes if c.kind == POLICY and c.action in BACKTESTED]
    if not targets:
        return {}
    requests, why = recent_requests(client, now, days)
    if requests is None:
        skipped = Backtest(skipped=f"the audit log could not be read: {why}")
        return {change.address: skipped for change in targets}
    return {change.address: backtest_change(client, change, requests, days) for change in targets}
