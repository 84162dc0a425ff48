"""Back-testing: what would a changed policy have done to recent real certificate requests?

The `certificate.requested` events of the audit log keep each evaluated request. Every request
the old or the new policy matches is evaluated in-process by the rule engine the server runs
(`certgov.rules`), against the new policy and the old one; then a bounded sample is confirmed
through the server's dry run (every request whose result changes, up to the bound, and a
random few that do not), concurrently and within its rate limit. Each changed policy gets a
count of requests that would newly warn or newly block, with examples. When the server and the
engine disagree on a sampled request, the back-test says which and reports the server's
answers only.

The sample bounds the audit noise the dry run leaves (two `policy.validated` events per sampled
request at most), which the platform's guide warns about.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from certgov.errors import ExtensionMissingError, ScopeError
from certgov.plan.model import Backtest, Change, Disagreement
from certgov.policytest import inline_body
from certgov.rules.domains import matches_any
from certgov.state import POLICY

if TYPE_CHECKING:
    from certgov.client import ClmClient
    from certgov.rules.engine import PolicyInput

MAX_EXAMPLES = 5
RANK = {"pass": 0, "warn": 1, "block": 2}
BACKTESTED = ("create", "update", "rename", "promote")
DEFAULT_SAMPLE = 20
DEFAULT_MAX_REQUESTS = 10_000

# (request, policy spec or None) -> pass | warn | block
Judge = Callable[[Mapping[str, Any], Mapping[str, Any] | None], str]


class Recent:
    """A recorded request, as the log keeps it and as the engine reads it (parsed only when a
    changed policy could match it: half the time of reading ten thousand of them)."""

    def __init__(self, request: Mapping[str, Any]) -> None:
        self.request = request

    @cached_property
    def parsed(self) -> Any:
        """The request as the engine reads it; None when it cannot be read."""
        from certgov.rules.request import parse_request

        return parse_request(self.request)[0]

    @property
    def name(self) -> str:
        return str(self.request.get("common_name") or (_names(self.request) or ["?"])[0])


def recent_requests(
    client: ClmClient, now: datetime, days: int, limit: int
) -> tuple[list[Recent] | None, str | None]:
    """The newest `limit` requests evaluated in the last `days` days (duplicates once), or None
    and why they could not be read."""
    since = (now - timedelta(days=days)).isoformat()
    try:
        events = client.audit_events(type="certificate.requested", since=since, limit=limit)
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
            requests.append(Recent(request))
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


class _Engine:
    """The rule engine on one policy version, built once for all the requests."""

    def __init__(self, spec: Mapping[str, Any] | None) -> None:
        from certgov.rules.engine import PolicyInput

        self.policy: PolicyInput | None = (
            None if spec is None else PolicyInput.from_json(inline_body(spec))
        )

    def result(self, recent: Recent) -> str:
        from certgov.rules.engine import evaluate

        if self.policy is None:
            return "pass"
        return str(evaluate(recent.parsed, [self.policy], ignore_enabled=True).result)


def _server(client: ClmClient) -> Judge:
    def judge(request: Mapping[str, Any], spec: Mapping[str, Any] | None) -> str:
        if spec is None:
            return "pass"
        return str(client.validate(request=dict(request), policy=inline_body(spec))["result"])

    return judge


def _sample(
    changed: Sequence[Recent], unchanged: Sequence[Recent], bound: int, seed: str
) -> list[Recent]:
    """Every request whose result changes, up to the bound, and a random few that do not."""
    few = min(len(unchanged), max(1, bound // 10), bound)
    picked = random.Random(seed).sample(list(unchanged), few)  # noqa: S311 - not security
    return [*changed[: bound - few], *picked]


def _newly(results: Sequence[tuple[Recent, str, str]]) -> dict[str, list[str]]:
    newly: dict[str, list[str]] = {"warn": [], "block": []}
    for recent, old, new in results:
        if RANK[new] > RANK[old] and new in newly:
            newly[new].append(recent.name)
    return newly


def backtest_change(
    change: Change,
    requests: Sequence[Recent],
    days: int,
    server: Judge,
    *,
    sample: int = DEFAULT_SAMPLE,
    parallelism: int = 8,
) -> Backtest:
    """Evaluate the requests the old or the new policy matches (the others pass either way) with
    the engine; confirm a sample with the server."""
    before, after = change.before, change.after or {}
    relevant = [
        r
        for r in requests
        if (_applies(after, r.request) or _applies(before, r.request)) and r.parsed is not None
    ]
    old_engine, new_engine = _Engine(before), _Engine(after)
    engine = [(r, old_engine.result(r), new_engine.result(r)) for r in relevant]
    changed = [r for r, old, new in engine if RANK[new] > RANK[old]]
    unchanged = [r for r, old, new in engine if RANK[new] <= RANK[old]]
    sampled = _sample(changed, unchanged, sample, change.address)

    def confirm(recent: Recent) -> tuple[Recent, str, str]:
        return recent, server(recent.request, before), server(recent.request, after)

    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        confirmed = list(pool.map(confirm, sampled))
    by_engine = {id(r): (old, new) for r, old, new in engine}
    disagreements = tuple(
        Disagreement(r.name, f"{by_engine[id(r)][0]} → {by_engine[id(r)][1]}", f"{old} → {new}")
        for r, old, new in confirmed
        if (old, new) != by_engine[id(r)]
    )
    counted = confirmed if disagreements else engine
    newly = _newly(counted)
    return Backtest(
        days=days,
        requests=len(counted),
        newly_warn=len(newly["warn"]),
        newly_block=len(newly["block"]),
        examples=tuple((newly["block"] + newly["warn"])[:MAX_EXAMPLES]),
        sampled=len(confirmed),
        disagreements=disagreements,
    )


def backtest(
    client: ClmClient,
    changes: Sequence[Change],
    now: datetime,
    days: int,
    *,
    max_requests: int = DEFAULT_MAX_REQUESTS,
    sample: int = DEFAULT_SAMPLE,
) -> dict[str, Backtest]:
    """The back-test of each changed policy among `changes`, by address."""
    targets = [c for c in changes if c.kind == POLICY and c.action in BACKTESTED]
    if not targets:
        return {}
    requests, why = recent_requests(client, now, days, max_requests)
    if requests is None:
        skipped = Backtest(skipped=f"the audit log could not be read: {why}")
        return {change.address: skipped for change in targets}
    server = _server(client)
    return {
        change.address: backtest_change(
            change, requests, days, server, sample=sample, parallelism=client.parallelism
        )
        for change in targets
    }
