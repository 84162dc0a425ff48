"""`certgov rollout status`: where each soft-to-hard rollout stands, from the audit log."""

from __future__ import annotations

from dataclasses import dataclass

from certgov.plan import Facts, PlanOptions, plan
from certgov.plan.rollout import RolloutDecision
from certgov.run.facts import (
    Connect,
    gate_facts,
    read_live,
    rollout_facts,
    rollout_warnings,
    server_now,
)


@dataclass(frozen=True)
class RolloutStatus:
    """Each rollout rule's decision, warnings about evidence that could not be read, and the
    environment promotions wait for (`rollout.after`), if any."""

    decisions: tuple[RolloutDecision, ...]
    warnings: tuple[str, ...]
    after: str | None = None


def rollout_status(path: str, connect: Connect, environment: str | None = None) -> RolloutStatus:
    """Where each rollout rule of the declarations at `path` stands in its tenant."""
    from certgov.declarations import load

    decls = load(path, environment=environment)
    with connect(decls.config.endpoint) as client:
        desired, live, _ = read_live(client, decls.state)
        facts, unread = rollout_facts(client, desired, live)
        gate = gate_facts(decls.config, connect, desired, live)
        now = server_now(client)
    result = plan(
        desired,
        live,
        Facts(now=now, rollout=facts, gate=gate),
        PlanOptions(allow_mass_change=True),
    )
    after = gate.environment if gate else None
    return RolloutStatus(result.rollouts, rollout_warnings(unread, gate), after)
