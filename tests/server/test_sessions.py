"""Contract §3: login and its check order, lockout, verify, revoke, TTLs at the second."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.server.conftest import T0, Harness

LOGIN = "/service-account/auth"
VERIFY = "/service-account/auth/verify"


def error(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {
        "success": False,
        "error": {"code": code, "message": message, "details": [] if details is None else details},
    }


INVALID = error("INVALID_CREDENTIALS", "invalid credentials")
INVALID_SESSION = error("INVALID_SESSION", "the session token is missing, unknown or revoked")
INACTIVE = error("SERVICE_ACCOUNT_INACTIVE", "the service account is disabled")
EXPIRED = error("SERVICE_ACCOUNT_EXPIRED", "the service account has expired")
IP_REFUSED = error("IP_NOT_ALLOWED", "the caller's address is outside the account's IP allowlist")
SESSION_EXPIRED = error("SESSION_EXPIRED", "the session has expired; log in again")
LOCKED = error("TOO_MANY_REQUESTS", "too many failed logins for this account; try again later")


def test_login_answers_the_documented_shape(h: Harness) -> None:
    response = h.client().post(LOGIN, json=h.admin_credentials)
    body = response.json()
    token = body["session"]["token"]
    assert response.status_code == 200
    assert re.fullmatch(r"[A-Za-z0-9]{64}", token)
    assert body == {
        "success": True,
        "service_account": {
            "uuid": h.admin_credentials["uuid"],
            "name": "root",
            "scopes": ["admin"],
        },
        "session": {
            "token": token,
            "token_type": "Bearer",
            "expires_at": "2026-03-26T10:00:00+00:00",
            "expires_in": 86400,
        },
    }
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "change",
    [
        {"uuid": "6f1c2a34-0000-4000-8000-000000000000"},
        {"uuid": "not-a-uuid"},
        {"client_id": "svc_" + "x" * 32},
        {"client_secret": "y" * 64},
    ],
    ids=["unknown-uuid", "malformed-uuid", "wrong-client-id", "wrong-secret"],
)
def test_login_refusals_are_identical(h: Harness, change: dict[str, str]) -> None:
    response = h.client().post(LOGIN, json={**h.admin_credentials, **change})
    assert (response.status_code, response.json()) == (401, INVALID)


def test_login_with_missing_fields_is_a_validation_error(h: Harness) -> None:
    response = h.client().post(LOGIN, json={"uuid": h.admin_credentials["uuid"]})
    assert response.status_code == 422
    assert response.json() == error(
        "VALIDATION_ERROR",
        "the request is invalid",
        [
            {"field": "client_id", "message": "required"},
            {"field": "client_secret", "message": "required"},
        ],
    )


def test_wrong_secret_on_a_disabled_account_says_invalid_credentials(h: Harness) -> None:
    admin = h.as_admin()
    account, creds = h.new_account(admin, "ci", ["read"])
    admin.post(f"/service/service-accounts/{account['uuid']}/disable")
    wrong = h.client().post(LOGIN, json={**creds, "client_secret": "z" * 64})
    right = h.client().post(LOGIN, json=creds)
    assert (wrong.status_code, wrong.json()) == (401, INVALID)
    assert (right.status_code, right.json()) == (401, INACTIVE)


def test_expired_account_login_is_refused_after_inactive_check(h: Harness) -> None:
    admin = h.as_admin()
    account, creds = h.new_account(admin, "ci", ["read"], expires_at="2026-03-25T11:00:00+00:00")
    h.clock.advance(hours=1)
    expired = h.client().post(LOGIN, json=creds)
    admin.post(f"/service/service-accounts/{account['uuid']}/disable")
    inactive = h.client().post(LOGIN, json=creds)
    assert (expired.status_code, expired.json()) == (401, EXPIRED)
    assert (inactive.status_code, inactive.json()) == (401, INACTIVE)


def test_login_from_outside_the_allowlist_is_refused(h: Harness) -> None:
    admin = h.as_admin()
    _, creds = h.new_account(admin, "ci", ["read"], ip_allowlist=["203.0.113.0/24"])
    outside = h.client("198.51.100.7").post(LOGIN, json=creds)
    inside = h.client("203.0.113.9").post(LOGIN, json=creds)
    assert (outside.status_code, outside.json()) == (401, IP_REFUSED)
    assert inside.status_code == 200


def test_ipv4_mapped_ipv6_peer_is_checked_against_ipv4_ranges(h: Harness) -> None:
    admin = h.as_admin()
    _, creds = h.new_account(admin, "ci", ["read"], ip_allowlist=["203.0.113.0/24"])
    assert h.client("::ffff:203.0.113.9").post(LOGIN, json=creds).status_code == 200
    assert h.client("::ffff:198.51.100.7").post(LOGIN, json=creds).status_code == 401


def fail_logins(h: Harness, creds: dict[str, str], times: int) -> None:
    for _ in range(times):
        response = h.client().post(LOGIN, json={**creds, "client_secret": "w" * 64})
        assert response.status_code == 401


def test_five_failures_lock_the_account_even_for_the_right_secret(h: Harness) -> None:
    _, creds = h.new_account(h.as_admin(), "ci", ["read"])
    fail_logins(h, creds, 5)
    h.clock.advance(minutes=5)
    response = h.client().post(LOGIN, json=creds)
    assert (response.status_code, response.json()) == (429, LOCKED)
    assert response.headers["retry-after"] == str(10 * 60)


def test_lockout_ends_fifteen_minutes_after_the_first_failure(h: Harness) -> None:
    _, creds = h.new_account(h.as_admin(), "ci", ["read"])
    fail_logins(h, creds, 5)
    h.clock.advance(minutes=15, seconds=-1)
    assert h.client().post(LOGIN, json=creds).status_code == 429
    h.clock.advance(seconds=1)
    assert h.client().post(LOGIN, json=creds).status_code == 200


def test_a_success_resets_the_failure_count(h: Harness) -> None:
    _, creds = h.new_account(h.as_admin(), "ci", ["read"])
    fail_logins(h, creds, 4)
    assert h.client().post(LOGIN, json=creds).status_code == 200
    fail_logins(h, creds, 4)
    assert h.client().post(LOGIN, json=creds).status_code == 200


def test_lockout_refusals_are_audited(h: Harness) -> None:
    account, creds = h.new_account(h.as_admin(), "ci", ["read"])
    fail_logins(h, creds, 5)
    h.client().post(LOGIN, json=creds)
    last = h.events()[-1]
    assert (last["type"], last["outcome"], last["code"], last["target"]["id"]) == (
        "service_account.auth.failure",
        "failure",
        "TOO_MANY_REQUESTS",
        account["uuid"],
    )


def test_verify_answers_account_and_session(h: Harness) -> None:
    admin = h.as_admin()
    h.clock.advance(hours=1)
    response = admin.get(VERIFY)
    assert response.json() == {
        "success": True,
        "valid": True,
        "service_account": {
            "uuid": h.admin_credentials["uuid"],
            "name": "root",
            "scopes": ["admin"],
        },
        "session": {"expires_at": "2026-03-26T10:00:00+00:00", "expires_in": 82800},
    }


def test_revoked_token_is_refused_and_other_sessions_live_on(h: Harness) -> None:
    first = h.as_admin()
    second = h.as_admin()
    assert first.post("/service-account/auth/revoke").json() == {"success": True}
    refused = first.get(VERIFY)
    assert (refused.status_code, refused.json()) == (401, INVALID_SESSION)
    assert second.get(VERIFY).status_code == 200


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer short", "Basic " + "a" * 64, "Bearer " + "a" * 64],
    ids=["missing", "empty", "malformed", "other-scheme", "unknown"],
)
def test_bad_bearer_tokens_are_invalid_sessions(h: Harness, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = h.client().get(VERIFY, headers=headers)
    assert (response.status_code, response.json()) == (401, INVALID_SESSION)


@pytest.mark.parametrize(
    ("offset", "status"), [(-1, 200), (0, 401), (1, 401)], ids=["before", "at", "after"]
)
def test_session_lives_exactly_24_hours(h: Harness, offset: int, status: int) -> None:
    admin = h.as_admin()
    h.clock.advance(hours=24, seconds=offset)
    response = admin.get(VERIFY)
    assert response.status_code == status
    if status == 401:
        assert response.json() == SESSION_EXPIRED


@pytest.mark.parametrize(
    ("offset", "status"), [(-1, 200), (0, 401), (1, 401)], ids=["before", "at", "after"]
)
def test_account_expiry_ends_its_sessions_at_once(h: Harness, offset: int, status: int) -> None:
    _, creds = h.new_account(h.as_admin(), "ci", ["read"], expires_at="2026-03-25T12:00:00+00:00")
    client = h.client(token=h.login(creds))
    h.clock.advance(hours=2, seconds=offset)
    response = client.get(VERIFY)
    assert response.status_code == status
    if status == 401:
        assert response.json() == EXPIRED


@pytest.mark.parametrize(
    ("offset", "status"), [(-1, 200), (0, 401), (1, 401)], ids=["before", "at", "after"]
)
def test_account_expiry_boundary_at_login(h: Harness, offset: int, status: int) -> None:
    _, creds = h.new_account(h.as_admin(), "ci", ["read"], expires_at="2026-03-25T12:00:00+00:00")
    h.clock.advance(hours=2, seconds=offset)
    assert h.client().post(LOGIN, json=creds).status_code == status


def test_session_never_outlives_its_account(h: Harness) -> None:
    _, creds = h.new_account(h.as_admin(), "ci", ["read"], expires_at="2026-03-25T12:00:00+00:00")
    session = h.client().post(LOGIN, json=creds).json()["session"]
    assert (session["expires_at"], session["expires_in"]) == ("2026-03-25T12:00:00+00:00", 7200)


def test_disable_ends_sessions_and_enable_does_not_revive_them(h: Harness) -> None:
    admin = h.as_admin()
    account, creds = h.new_account(admin, "ci", ["read"])
    client = h.client(token=h.login(creds))
    admin.post(f"/service/service-accounts/{account['uuid']}/disable")
    disabled = client.get(VERIFY)
    admin.post(f"/service/service-accounts/{account['uuid']}/enable")
    enabled = client.get(VERIFY)
    assert (disabled.status_code, disabled.json()) == (401, INACTIVE)
    assert (enabled.status_code, enabled.json()) == (401, INVALID_SESSION)
    assert h.client(token=h.login(creds)).get(VERIFY).status_code == 200


def test_regenerating_the_secret_keeps_sessions_by_default(h: Harness) -> None:
    admin = h.as_admin()
    account, creds = h.new_account(admin, "ci", ["read"])
    client = h.client(token=h.login(creds))
    response = admin.post(f"/service/service-accounts/{account['uuid']}/regenerate-secret")
    new_secret = response.json()["credentials"]["client_secret"]
    assert client.get(VERIFY).status_code == 200
    assert h.client().post(LOGIN, json=creds).json() == INVALID
    assert h.client().post(LOGIN, json={**creds, "client_secret": new_secret}).status_code == 200


def test_regenerating_with_revoke_sessions_ends_them(h: Harness) -> None:
    admin = h.as_admin()
    account, creds = h.new_account(admin, "ci", ["read"])
    client = h.client(token=h.login(creds))
    admin.post(
        f"/service/service-accounts/{account['uuid']}/regenerate-secret",
        params={"revoke_sessions": "true"},
    )
    assert client.get(VERIFY).json() == INVALID_SESSION


def test_allowlist_is_rechecked_on_every_call(h: Harness) -> None:
    admin = h.as_admin()
    account, creds = h.new_account(admin, "ci", ["read"])
    token = h.login(creds, ip="198.51.100.7")
    admin.put(
        f"/service/service-accounts/{account['uuid']}",
        json={"name": "ci", "scopes": ["read"], "ip_allowlist": ["203.0.113.0/24"]},
    )
    refused = h.client("198.51.100.7", token).get(VERIFY)
    assert (refused.status_code, refused.json()) == (401, IP_REFUSED)
    assert h.client("203.0.113.1", token).get(VERIFY).status_code == 200


def test_deleted_account_sessions_are_invalid(h: Harness) -> None:
    admin = h.as_admin()
    account, creds = h.new_account(admin, "ci", ["read"])
    client = h.client(token=h.login(creds))
    admin.delete(f"/service/service-accounts/{account['uuid']}")
    assert client.get(VERIFY).json() == INVALID_SESSION


def test_login_records_last_used_without_changing_the_etag(h: Harness) -> None:
    admin = h.as_admin()
    account, creds = h.new_account(admin, "ci", ["read"])
    before = admin.get(f"/service/service-accounts/{account['uuid']}")
    h.clock.advance(minutes=1)
    h.login(creds)
    after = admin.get(f"/service/service-accounts/{account['uuid']}")
    assert after.json()["data"]["last_used_at"] == "2026-03-25T10:01:00+00:00"
    assert after.headers["etag"] == before.headers["etag"]


def test_login_events_carry_code_and_peer_address(h: Harness) -> None:
    h.client("192.0.2.10").post(LOGIN, json={**h.admin_credentials, "client_secret": "q" * 64})
    h.login(h.admin_credentials, ip="192.0.2.11")
    events = [
        (e["type"], e["outcome"], e["code"], e["actor"]["ip"], e["occurred_at"])
        for e in h.events()[1:]
    ]
    stamp = T0.isoformat()
    assert events == [
        ("service_account.auth.failure", "failure", "INVALID_CREDENTIALS", "192.0.2.10", stamp),
        ("service_account.auth.success", "success", None, "192.0.2.11", stamp),
    ]
