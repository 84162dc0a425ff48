"""Contract §2: read ⊂ write ⊂ admin, checked on every endpoint with a table."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.conftest import Harness

ACCOUNTS = "/service/service-accounts"
NEW_ACCOUNT = {"name": "made", "scopes": ["read"]}

# (method, path, body, scope needed, success status); {uuid} is a target account made per test.
ENDPOINTS: list[tuple[str, str, Any, str, int]] = [
    ("GET", "/service-account/auth/verify", None, "read", 200),
    ("POST", "/service-account/auth/revoke", None, "read", 200),
    ("GET", ACCOUNTS, None, "admin", 200),
    ("POST", ACCOUNTS, NEW_ACCOUNT, "admin", 201),
    ("GET", ACCOUNTS + "/{uuid}", None, "admin", 200),
    ("PUT", ACCOUNTS + "/{uuid}", {"name": "target", "scopes": ["write"]}, "admin", 200),
    ("POST", ACCOUNTS + "/{uuid}/enable", None, "admin", 200),
    ("POST", ACCOUNTS + "/{uuid}/disable", None, "admin", 200),
    ("POST", ACCOUNTS + "/{uuid}/regenerate-secret", None, "admin", 200),
    ("DELETE", ACCOUNTS + "/{uuid}", None, "admin", 200),
    ("GET", "/service/audit-events", None, "admin", 200),
]
LEVEL = {"read": 1, "write": 2, "admin": 3}


def call_as(h: Harness, scope: str, endpoint: tuple[str, str, Any, str, int]) -> Any:
    method, path, body, _, _ = endpoint
    admin = h.as_admin()
    target, _ = h.new_account(admin, "target", ["read"])
    _, creds = h.new_account(admin, f"caller-{scope}", [scope])
    client = h.client(token=h.login(creds))
    return client.request(method, path.format(uuid=target["uuid"]), json=body)


@pytest.mark.parametrize("scope", ["read", "write", "admin"])
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[f"{e[0]} {e[1]}" for e in ENDPOINTS])
def test_scope_table(hs: Harness, endpoint: tuple[str, str, Any, str, int], scope: str) -> None:
    needed, success = endpoint[3], endpoint[4]
    response = call_as(hs, scope, endpoint)
    if LEVEL[scope] >= LEVEL[needed]:
        assert response.status_code == success, response.text
    else:
        assert (response.status_code, response.json()) == (
            403,
            {
                "success": False,
                "error": {
                    "code": "INSUFFICIENT_SCOPE",
                    "message": f"this call needs the {needed!r} scope",
                    "details": [{"field": "scope", "message": f"requires {needed}"}],
                },
            },
        )
