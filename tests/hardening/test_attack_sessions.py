"""Attacks on sessions and logins (issue 21, points 1 and 4), each reproduced as it was found."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.conftest import Harness

ACCOUNTS = "/service/service-accounts"
VERIFY = "/service-account/auth/verify"
POLICY = {
    "name": "p",
    "matching_criteria": {"action": "certificate.generate", "domains": ["example.com"]},
    "rules": [],
}


def envelope(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"success": False, "error": {"code": code, "message": message, "details": []}}


EXPIRED = envelope(401, "SERVICE_ACCOUNT_EXPIRED", "the service account has expired")
INVALID_SESSION = envelope(
    401, "INVALID_SESSION", "the session token is missing, unknown or revoked"
)


# -- point 1: a session never comes back to life -------------------------------------------------


@pytest.mark.parametrize("lifted", [None, "2026-04-30T00:00:00+00:00"], ids=["null", "later"])
def test_lifting_an_expiry_revives_no_session(h: Harness, lifted: str | None) -> None:
    admin = h.as_admin()
    account, creds = h.new_account(admin, "deploy", ["write"])
    session = h.client(token=h.login(creds))
    path = f"{ACCOUNTS}/{account['uuid']}"
    admin.put(
        path,
        json={"name": "deploy", "scopes": ["write"], "expires_at": "2026-03-25T11:00:00+00:00"},
    )
    h.clock.advance(hours=2)
    expired = session.get(VERIFY)
    lifting = admin.put(path, json={"name": "deploy", "scopes": ["write"], "expires_at": lifted})
    verify = session.get(VERIFY)
    create = session.post("/service/policies", json=POLICY)
    assert lifting.status_code == 200
    assert [(r.status_code, r.json()) for r in (expired, verify, create)] == [
        EXPIRED,
        INVALID_SESSION,
        INVALID_SESSION,
    ]
    assert h.client(token=h.login(creds)).get(VERIFY).status_code == 200
