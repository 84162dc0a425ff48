"""Contract §5.1, §5.4, §5.5: the service-account API, idempotent creates, conditional writes."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.server.conftest import Harness

ACCOUNTS = "/service/service-accounts"
STAMP = "2026-03-25T10:00:00+00:00"


def expected_account(account: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """The object as the API shows it, with server-made values taken from `account`."""
    return {
        "uuid": account["uuid"],
        "client_id": account["client_id"],
        "name": "ci",
        "description": "",
        "scopes": ["read"],
        "ip_allowlist": [],
        "expires_at": None,
        "is_active": True,
        "secret_created_at": STAMP,
        "last_used_at": None,
        "created_at": STAMP,
        "updated_at": STAMP,
        **fields,
    }


def test_create_answers_object_and_credentials_once(h: Harness) -> None:
    response = h.as_admin().post(
        ACCOUNTS,
        json={
            "name": "ci",
            "scopes": ["write", "read"],
            "ip_allowlist": ["203.0.113.0/24", "2001:db8::/32", "192.0.2.7/32"],
            "expires_at": "2027-06-30T00:00:00Z",
        },
    )
    body = response.json()
    account = body["data"]
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["etag"] == f'"{account["uuid"]}-1"'
    assert body == {
        "success": True,
        "data": expected_account(
            account,
            scopes=["read", "write"],
            ip_allowlist=["192.0.2.7", "203.0.113.0/24", "2001:db8::/32"],
            expires_at="2027-06-30T00:00:00+00:00",
        ),
        "credentials": {
            "client_id": account["client_id"],
            "client_secret": body["credentials"]["client_secret"],
        },
        "replayed": False,
    }
    secret = body["credentials"]["client_secret"]
    assert re.fullmatch(r"[A-Za-z0-9]{64}", secret)
    assert re.fullmatch(r"svc_[a-z0-9]{32}", account["client_id"])


def test_get_answers_object_with_etag(h: Harness) -> None:
    admin = h.as_admin()
    account, _ = h.new_account(admin, "ci", ["read"])
    response = admin.get(f"{ACCOUNTS}/{account['uuid']}")
    assert response.json() == {"success": True, "data": expected_account(account)}
    assert response.headers["etag"] == f'"{account["uuid"]}-1"'


def test_list_is_sorted_by_name_with_etags_and_meta(h: Harness) -> None:
    admin = h.as_admin()
    for name in ("b", "a", "C"):
        h.new_account(admin, name, ["read"])
    body = admin.get(ACCOUNTS, params={"per_page": 2, "page": 2}).json()
    assert [(a["name"], a["etag"]) for a in body["data"]] == [
        ("b", f'"{body["data"][0]["uuid"]}-1"'),
        ("root", f'"{h.admin_credentials["uuid"]}-1"'),
    ]
    assert body["meta"] == {"page": 2, "per_page": 2, "total": 4, "total_pages": 2}


def test_page_past_the_end_is_empty_with_true_meta(h: Harness) -> None:
    body = h.as_admin().get(ACCOUNTS, params={"page": 5}).json()
    assert body == {
        "success": True,
        "data": [],
        "meta": {"page": 5, "per_page": 25, "total": 1, "total_pages": 1},
    }


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"per_page": 101}, "per_page", "Input should be less than or equal to 100"),
        ({"per_page": 0}, "per_page", "Input should be greater than or equal to 1"),
        ({"page": 0}, "page", "Input should be greater than or equal to 1"),
        (
            {"page": "x"},
            "page",
            "Input should be a valid integer, unable to parse string as an integer",
        ),
    ],
)
def test_bad_paging_is_a_validation_error(
    h: Harness, params: dict[str, Any], field: str, message: str
) -> None:
    response = h.as_admin().get(ACCOUNTS, params=params)
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [{"field": field, "message": message}]


def test_put_replaces_the_mutable_fields_and_bumps_the_etag(h: Harness) -> None:
    admin = h.as_admin()
    account, _ = h.new_account(
        admin, "ci", ["read"], description="old", ip_allowlist=["10.0.0.0/8"]
    )
    h.clock.advance(seconds=30)
    response = admin.put(f"{ACCOUNTS}/{account['uuid']}", json={"name": "ci2", "scopes": ["admin"]})
    assert response.json()["data"] == expected_account(
        account, name="ci2", scopes=["admin"], updated_at="2026-03-25T10:00:30+00:00"
    )
    assert response.headers["etag"] == f'"{account["uuid"]}-2"'


def test_put_with_the_same_fields_changes_nothing(h: Harness) -> None:
    admin = h.as_admin()
    account, _ = h.new_account(admin, "ci", ["read"])
    response = admin.put(f"{ACCOUNTS}/{account['uuid']}", json={"name": "ci", "scopes": ["read"]})
    assert response.headers["etag"] == f'"{account["uuid"]}-1"'
    assert h.events()[-1]["type"] == "service_account.created"


def test_enable_and_disable_toggle_is_active(h: Harness) -> None:
    admin = h.as_admin()
    account, _ = h.new_account(admin, "ci", ["read"])
    disabled = admin.post(f"{ACCOUNTS}/{account['uuid']}/disable")
    again = admin.post(f"{ACCOUNTS}/{account['uuid']}/disable")
    enabled = admin.post(f"{ACCOUNTS}/{account['uuid']}/enable")
    assert [r.json()["data"]["is_active"] for r in (disabled, again, enabled)] == [
        False,
        False,
        True,
    ]
    assert [r.headers["etag"] for r in (disabled, again, enabled)] == [
        f'"{account["uuid"]}-2"',
        f'"{account["uuid"]}-2"',
        f'"{account["uuid"]}-3"',
    ]


def test_regenerate_answers_new_credentials_with_no_store(h: Harness) -> None:
    admin = h.as_admin()
    account, creds = h.new_account(admin, "ci", ["read"])
    h.clock.advance(hours=1)
    response = admin.post(f"{ACCOUNTS}/{account['uuid']}/regenerate-secret")
    body = response.json()
    assert response.headers["cache-control"] == "no-store"
    assert body["data"] == expected_account(
        account,
        secret_created_at="2026-03-25T11:00:00+00:00",
        updated_at="2026-03-25T11:00:00+00:00",
    )
    assert body["credentials"]["client_id"] == creds["client_id"]
    assert body["credentials"]["client_secret"] != creds["client_secret"]


def test_delete_removes_the_account_but_keeps_its_history(h: Harness) -> None:
    admin = h.as_admin()
    account, _ = h.new_account(admin, "ci", ["read"])
    assert admin.delete(f"{ACCOUNTS}/{account['uuid']}").json() == {"success": True}
    assert admin.get(f"{ACCOUNTS}/{account['uuid']}").status_code == 404
    history = admin.get("/service/audit-events", params={"service_account": account["uuid"]})
    assert [e["type"] for e in history.json()["data"]] == [
        "service_account.deleted",
        "service_account.created",
    ]


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", ""),
        ("PUT", ""),
        ("DELETE", ""),
        ("POST", "/enable"),
        ("POST", "/disable"),
        ("POST", "/regenerate-secret"),
    ],
)
def test_unknown_uuid_is_not_found(h: Harness, method: str, suffix: str) -> None:
    missing = "6f1c2a34-0000-4000-8000-000000000000"
    response = h.as_admin().request(
        method,
        f"{ACCOUNTS}/{missing}{suffix}",
        json={"name": "x", "scopes": ["read"]} if method == "PUT" else None,
    )
    assert (response.status_code, response.json()) == (
        404,
        {
            "success": False,
            "error": {
                "code": "NOT_FOUND",
                "message": f"no service account with id {missing}",
                "details": [],
            },
        },
    )


def test_duplicate_name_is_a_conflict(h: Harness) -> None:
    admin = h.as_admin()
    h.new_account(admin, "ci", ["read"])
    response = admin.post(ACCOUNTS, json={"name": "ci", "scopes": ["read"]})
    assert (response.status_code, response.json()["error"]) == (
        409,
        {
            "code": "CONFLICT",
            "message": "a service account named 'ci' already exists",
            "details": [],
        },
    )


def test_renaming_onto_another_name_is_a_conflict(h: Harness) -> None:
    admin = h.as_admin()
    h.new_account(admin, "a", ["read"])
    account, _ = h.new_account(admin, "b", ["read"])
    response = admin.put(f"{ACCOUNTS}/{account['uuid']}", json={"name": "a", "scopes": ["read"]})
    assert response.status_code == 409


LONG = "x" * 201


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"scopes": ["read"]}, [("name", "required")]),
        ({"name": "ci"}, [("scopes", "required")]),
        (
            {"name": "ci", "scopes": []},
            [("scopes", "List should have at least 1 item after validation, not 0")],
        ),
        (
            {"name": "ci", "scopes": ["root"]},
            [("scopes[0]", "Input should be 'read', 'write' or 'admin'")],
        ),
        (
            {"name": LONG, "scopes": ["read"]},
            [("name", "String should have at most 200 characters")],
        ),
        ({"name": "", "scopes": ["read"]}, [("name", "String should have at least 1 character")]),
        (
            {"name": "ci", "scopes": ["read"], "description": "d" * 2001},
            [("description", "String should have at most 2000 characters")],
        ),
        ({"name": 7, "scopes": ["read"]}, [("name", "Input should be a valid string")]),
        ({"name": "ci", "scopes": ["read"], "colour": "red"}, [("colour", "unknown field")]),
        (
            {"name": "ci", "scopes": ["read"], "ip_allowlist": ["10.0.0.0/33"]},
            [
                (
                    "ip_allowlist[0]",
                    "not an IP address or CIDR range without host bits: '10.0.0.0/33' does not appear to be an IPv4 or IPv6 network",
                )
            ],
        ),
        (
            {"name": "ci", "scopes": ["read"], "ip_allowlist": ["10.0.0.1/8"]},
            [
                (
                    "ip_allowlist[0]",
                    "not an IP address or CIDR range without host bits: 10.0.0.1/8 has host bits set",
                )
            ],
        ),
        (
            {"name": "ci", "scopes": ["read"], "ip_allowlist": ["1.2.3.4", "garbage"]},
            [
                (
                    "ip_allowlist[1]",
                    "not an IP address or CIDR range without host bits: 'garbage' does not appear to be an IPv4 or IPv6 network",
                )
            ],
        ),
        (
            {"name": "ci", "scopes": ["read"], "expires_at": "2026-03-25T09:59:59+00:00"},
            [("expires_at", "must be in the future")],
        ),
        (
            {"name": "ci", "scopes": ["read"], "expires_at": "2027-01-01T00:00:00"},
            [("expires_at", "Input should have timezone info")],
        ),
        (
            {"name": "ci", "scopes": "read", "description": 5},
            [
                ("description", "Input should be a valid string"),
                ("scopes", "Input should be a valid list"),
            ],
        ),
        (
            {"name": "ci\nadmin", "scopes": ["read"]},
            [("name", "must not hold the control character U+000A")],
        ),
        (
            {"name": "ci\u202enimda", "scopes": ["read"]},
            [("name", "must not hold the bidirectional control character U+202E")],
        ),
    ],
    ids=[
        "no-name",
        "no-scopes",
        "empty-scopes",
        "bad-scope",
        "long-name",
        "empty-name",
        "long-description",
        "name-type",
        "unknown-field",
        "prefix-33",
        "host-bits",
        "garbage",
        "past-expiry",
        "naive-expiry",
        "two-problems",
        "newline-in-name",
        "bidi-override-in-name",
    ],
)
def test_invalid_bodies_name_every_field(
    h: Harness, body: dict[str, Any], details: list[tuple[str, str]]
) -> None:
    response = h.as_admin().post(ACCOUNTS, json=body)
    assert (response.status_code, response.json()) == (
        422,
        {
            "success": False,
            "error": {
                "code": "VALIDATION_ERROR",
                "message": "the request is invalid",
                "details": [{"field": f, "message": m} for f, m in details],
            },
        },
    )


def test_put_with_a_past_expiry_is_refused(h: Harness) -> None:
    admin = h.as_admin()
    account, _ = h.new_account(admin, "ci", ["read"])
    response = admin.put(
        f"{ACCOUNTS}/{account['uuid']}",
        json={"name": "ci", "scopes": ["read"], "expires_at": "2020-01-01T00:00:00+00:00"},
    )
    assert response.json()["error"]["details"] == [
        {"field": "expires_at", "message": "must be in the future"}
    ]


# -- Idempotency-Key ----------------------------------------------------------------------------


def test_repeat_with_the_same_key_replays_without_the_secret(h: Harness) -> None:
    admin = h.as_admin()
    headers = {"Idempotency-Key": "create-ci-1"}
    first = admin.post(ACCOUNTS, json={"name": "ci", "scopes": ["read"]}, headers=headers)
    second = admin.post(ACCOUNTS, json={"name": "ci", "scopes": ["read"]}, headers=headers)
    assert second.status_code == 201
    assert second.json() == {**first.json(), "credentials": None, "replayed": True}
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["idempotent-replayed"] == "true"
    assert admin.get(ACCOUNTS).json()["meta"]["total"] == 2


def test_same_key_with_another_body_is_a_conflict(h: Harness) -> None:
    admin = h.as_admin()
    headers = {"Idempotency-Key": "k"}
    admin.post(ACCOUNTS, json={"name": "ci", "scopes": ["read"]}, headers=headers)
    response = admin.post(ACCOUNTS, json={"name": "cd", "scopes": ["read"]}, headers=headers)
    assert (response.status_code, response.json()["error"]["message"]) == (
        409,
        "this Idempotency-Key was used with a different request",
    )


def test_a_refused_first_answer_is_replayed_too(h: Harness) -> None:
    admin = h.as_admin()
    h.new_account(admin, "ci", ["read"])
    headers = {"Idempotency-Key": "k"}
    first = admin.post(ACCOUNTS, json={"name": "ci", "scopes": ["read"]}, headers=headers)
    admin.delete(f"{ACCOUNTS}/{admin.get(ACCOUNTS).json()['data'][0]['uuid']}")
    second = admin.post(ACCOUNTS, json={"name": "ci", "scopes": ["read"]}, headers=headers)
    assert (first.status_code, second.status_code) == (409, 409)
    assert second.json() == first.json()


def test_keys_are_scoped_to_the_calling_account(h: Harness) -> None:
    admin = h.as_admin()
    _, other = h.new_account(admin, "other-admin", ["admin"])
    other_client = h.client(token=h.login(other))
    headers = {"Idempotency-Key": "k"}
    first = admin.post(ACCOUNTS, json={"name": "a", "scopes": ["read"]}, headers=headers)
    second = other_client.post(ACCOUNTS, json={"name": "b", "scopes": ["read"]}, headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)


def test_keys_expire_after_24_hours(h: Harness) -> None:
    admin = h.as_admin()
    headers = {"Idempotency-Key": "k"}
    admin.post(ACCOUNTS, json={"name": "a", "scopes": ["read"]}, headers=headers)
    h.clock.advance(hours=24)
    admin = h.as_admin()
    response = admin.post(ACCOUNTS, json={"name": "b", "scopes": ["read"]}, headers=headers)
    assert response.json()["replayed"] is False


def test_overlong_idempotency_key_is_a_validation_error(h: Harness) -> None:
    response = h.as_admin().post(
        ACCOUNTS, json={"name": "a", "scopes": ["read"]}, headers={"Idempotency-Key": "k" * 256}
    )
    assert response.json()["error"]["details"] == [
        {"field": "Idempotency-Key", "message": "must be 1 to 255 printable chars"}
    ]


# -- ETag / If-Match ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("PUT", ""),
        ("DELETE", ""),
        ("POST", "/enable"),
        ("POST", "/disable"),
        ("POST", "/regenerate-secret"),
    ],
)
def test_stale_if_match_is_refused_with_the_current_object(
    h: Harness, method: str, suffix: str
) -> None:
    admin = h.as_admin()
    account, _ = h.new_account(admin, "ci", ["read"])
    admin.put(f"{ACCOUNTS}/{account['uuid']}", json={"name": "ci", "scopes": ["write"]})
    response = admin.request(
        method,
        f"{ACCOUNTS}/{account['uuid']}{suffix}",
        json={"name": "x", "scopes": ["read"]} if method == "PUT" else None,
        headers={"If-Match": f'"{account["uuid"]}-1"'},
    )
    assert (response.status_code, response.json()) == (
        412,
        {
            "success": False,
            "error": {
                "code": "PRECONDITION_FAILED",
                "message": "If-Match does not match the current ETag: the object changed since it was read",
                "details": expected_account(account, scopes=["write"]),
            },
        },
    )
    assert admin.get(f"{ACCOUNTS}/{account['uuid']}").headers["etag"] == f'"{account["uuid"]}-2"'


@pytest.mark.parametrize("if_match", ['"{uuid}-1"', "*", '"other", "{uuid}-1"'])
def test_matching_if_match_lets_the_write_through(h: Harness, if_match: str) -> None:
    admin = h.as_admin()
    account, _ = h.new_account(admin, "ci", ["read"])
    response = admin.post(
        f"{ACCOUNTS}/{account['uuid']}/disable",
        headers={"If-Match": if_match.format(uuid=account["uuid"])},
    )
    assert response.status_code == 200


def test_weak_etag_never_matches(h: Harness) -> None:
    admin = h.as_admin()
    account, _ = h.new_account(admin, "ci", ["read"])
    response = admin.post(
        f"{ACCOUNTS}/{account['uuid']}/disable", headers={"If-Match": f'W/"{account["uuid"]}-1"'}
    )
    assert response.status_code == 412
