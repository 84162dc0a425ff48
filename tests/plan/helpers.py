"""Builders of desired and live resources for planner tests."""

from __future__ import annotations

from typing import Any

from certgov.state import POLICY, SERVICE_ACCOUNT, Resource, policy_spec, service_account_spec

SECRET = {"store": "local", "path": "clm/ci", "rotate_after_seconds": None}


def account(name: str, *, live: bool = False, **fields: Any) -> Resource:
    body = {"name": name, "scopes": ["read"], **fields}
    meta: dict[str, Any]
    if live:
        meta = {
            "id": f"uuid-{name}",
            "etag": f'"uuid-{name}-1"',
            "client_id": f"svc_{name}",
            "secret_created_at": "2026-01-01T00:00:00+00:00",
        }
    else:
        meta = {"source": {"file": "accounts.yaml", "line": 3, "col": 1}, "secret": None}
        meta.update(fields.pop("meta", {}) if "meta" in fields else {})
    body.pop("meta", None)
    return Resource(SERVICE_ACCOUNT, name, service_account_spec(body), meta)


def policy(name: str, *, live: bool = False, **fields: Any) -> Resource:
    body = {
        "name": name,
        "matching_criteria": {"action": "certificate.generate", "domains": ["example.com"]},
        "rules": [{"action": "disable_wildcard", "fail": "hard"}],
        **fields,
    }
    if live:
        body.setdefault("is_enabled", True)
        meta: dict[str, Any] = {"id": abs(hash(name)) % 1000, "etag": f'"{name}-1"'}
    else:
        meta = {"source": {"file": "policies.yaml", "line": 1, "col": 1}, "tests": []}
    return Resource(POLICY, name, policy_spec(body), meta)


def with_meta(resource: Resource, **meta: Any) -> Resource:
    return Resource(resource.kind, resource.name, resource.spec, {**resource.meta, **meta})
