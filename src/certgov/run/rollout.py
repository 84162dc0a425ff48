"""`certgov rollout status`: where each soft-to-hard rollout stands, from the audit log."""

from __future__ import annotations

from certgov.plan import Facts, PlanOptions, plan
from certgov.plan.rollout import RolloutDecision
from certgov.run.facts import Connect, read_live, rollout_facts, server_now


def rollout_status(
    path: str, connect: Connect, environment: str | None = None
) -> tuple[tuple[RolloutDecision, ...], tuple[str, ...]]:
    """Each rollout rule's decision, and warnings about evidence that could not be read."""
    from certgov.declarations import load

    decls = load(path, environment=environment)
    with connect(decls.config.endpoint) as client:
        desired, live, _ = read_live(client, decls.state)
        facts, warnings = rollout_facts(client, desired, live)
        now = server_now(client)
    result = plan(desired, live, Facts(now=now, rollout=facts), PlanOptions(allow_mass_change=True))
    return result.rollouts, warnings
