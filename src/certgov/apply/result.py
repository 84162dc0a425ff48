"""What an apply did: one outcome per change, and the counts and JSON document built from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from certgov.plan.model import ACTION_ORDER

APPLIED, FAILED, NOT_ATTEMPTED = "applied", "failed", "not attempted"
# Why a change was not attempted.
EARLIER_FAILED = "an earlier change of this object failed"
NOT_STARTED = "interrupted before it started"
PAST_TENSE = {
    "rename": "renamed",
    "create": "created",
    "update": "updated",
    "enable": "enabled",
    "disable": "disabled",
    "delete": "deleted",
    "rotate": "rotated",
    "promote": "promoted",
}


@dataclass(frozen=True)
class Outcome:
    address: str
    action: str
    status: str
    message: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "address": self.address,
            "action": self.action,
            "status": self.status,
            "message": self.message,
        }


@dataclass(frozen=True)
class ApplyResult:
    fingerprint: str
    outcomes: tuple[Outcome, ...]
    target: str = ""
    """Where the changes were applied (the plan's target), for notifications."""

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status != APPLIED]

    def counts(self) -> dict[str, int]:
        counts = {PAST_TENSE[a]: 0 for a in ACTION_ORDER}
        for o in self.outcomes:
            if o.status == APPLIED:
                counts[PAST_TENSE[o.action]] += 1
        counts["failed"] = sum(1 for o in self.outcomes if o.status == FAILED)
        counts["not attempted"] = sum(1 for o in self.outcomes if o.status == NOT_ATTEMPTED)
        return counts

    def summary_line(self) -> str:
        c = self.counts()
        parts = [f"{c['created']} created", f"{c['updated']} updated"]
        for word in ("renamed", "enabled", "disabled", "deleted", "rotated", "promoted"):
            if c[word]:
                parts.append(f"{c[word]} {word}")
        parts.append(f"{c['failed']} failed")
        if c["not attempted"]:
            parts.append(f"{c['not attempted']} not attempted")
        return "Apply complete: " + ", ".join(parts) + "."

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": "1",
            "plan_fingerprint": self.fingerprint,
            "summary": self.counts(),
            "results": [o.to_json() for o in self.outcomes],
        }
