"""The one State type that both desired (declarations) and live (API) state are built into.

Both sides go through the same normalisers, so that they compare like with like: server-managed
fields out, defaults in, numbers inside rule `values` as strings, domain patterns lower-cased and
IDNA-encoded, lists whose order means nothing sorted. No I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any

from certgov.rules.accounts import (
    normalise_allowlist,
    normalise_scopes,
)
from certgov.rules.domains import normalise_pattern
from certgov.rules.validation import normalise_policy_values

SERVICE_ACCOUNT = "ServiceAccount"
POLICY = "Policy"
KINDS = (SERVICE_ACCOUNT, POLICY)


@dataclass(frozen=True)
class Resource:
    """One managed object.

    `spec` holds exactly the fields that are compared between desired and live. `meta` holds what
    is not compared: for live objects the server's id, etag and timestamps; for desired objects the
    source position, secret settings, previous names, tests and rollout settings.
    """

    kind: str
    name: str
    spec: Mapping[str, Any]
    meta: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def address(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class State:
    """A set of resources keyed by (kind, name)."""

    resources: Mapping[tuple[str, str], Resource]
    _by_kind: Mapping[str, tuple[Resource, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        by_kind: dict[str, list[Resource]] = {}
        for (kind, _), resource in self.resources.items():
            by_kind.setdefault(kind, []).append(resource)
        object.__setattr__(self, "_by_kind", {k: tuple(v) for k, v in by_kind.items()})

    @classmethod
    def build(cls, resources: Iterable[Resource]) -> State:
        """The one constructor; refuses duplicate (kind, name) pairs."""
        index: dict[tuple[str, str], Resource] = {}
        for r in resources:
            key = (r.kind, r.name)
            if key in index:
                raise ValueError(f"duplicate {r.address}")
            index[key] = r
        return cls(MappingProxyType(dict(sorted(index.items()))))

    def get(self, kind: str, name: str) -> Resource | None:
        return self.resources.get((kind, name))

    def of_kind(self, kind: str) -> list[Resource]:
        return list(self._by_kind.get(kind, ()))

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources.values())

    def __len__(self) -> int:
        return len(self.resources)


def normalise_timestamp(value: Any) -> str | None:
    """RFC 3339, UTC, second precision; a bare date means midnight UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day, tzinfo=UTC)
    else:
        text = str(value).strip()
        if len(text) == 10:
            dt = datetime.fromisoformat(text).replace(tzinfo=UTC)
        else:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).replace(microsecond=0).isoformat()


def service_account_spec(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The compared fields of a service account, from an API object or a declaration.

    Accepts `is_active` (API) or `enabled` (declaration).
    """
    enabled = obj.get("is_active", obj.get("enabled", True))
    return {
        "name": obj["name"],
        "description": obj.get("description") or "",
        "scopes": normalise_scopes(obj.get("scopes") or []),
        "ip_allowlist": normalise_allowlist(obj.get("ip_allowlist") or []),
        "expires_at": normalise_timestamp(obj.get("expires_at")),
        "enabled": bool(enabled),
    }


# Numbers to strings, lists sorted, as the API answers them: one implementation, shared with the
# server's answers.
normalise_values = normalise_policy_values


def normalise_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"action": rule["action"], "fail": rule.get("fail", "hard")}
    values = normalise_values(rule.get("values"))
    if values:
        out["values"] = values
    return out


def rule_sort_key(rule: Mapping[str, Any]) -> tuple[str, str, str]:
    values = rule.get("values") or {}
    return (str(rule["action"]), repr(sorted(values.items())), str(rule.get("fail")))


def policy_spec(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The compared fields of a policy, from an API object or a declaration.

    Accepts `is_enabled` (API) or `enabled` (declaration). Rules are sorted: every rule of a
    policy is evaluated, so their order carries no meaning.
    """
    enabled = obj.get("is_enabled", obj.get("enabled", True))
    criteria = obj.get("matching_criteria") or {}
    rules = [normalise_rule(r) for r in obj.get("rules") or []]
    return {
        "name": obj["name"],
        "description": obj.get("description") or "",
        "enabled": bool(enabled),
        "matching_criteria": {
            "action": criteria.get("action", "certificate.generate"),
            "domains": sorted({normalise_pattern(d) for d in criteria.get("domains") or []}),
        },
        "rules": sorted(rules, key=rule_sort_key),
    }


def api_body(kind: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The create/PUT body for a normalised spec (accounts' enabled flag has its own endpoints)."""
    if kind == SERVICE_ACCOUNT:
        return {
            "name": spec["name"],
            "description": spec["description"],
            "scopes": list(spec["scopes"]),
            "ip_allowlist": list(spec["ip_allowlist"]),
            "expires_at": spec["expires_at"],
        }
    return {
        "name": spec["name"],
        "description": spec["description"],
        "is_enabled": spec["enabled"],
        "matching_criteria": dict(spec["matching_criteria"]),
        "rules": [dict(r) for r in spec["rules"]],
    }
