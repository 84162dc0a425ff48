"""Single-object calls: ETags captured, If-Match and Idempotency-Key sent, secrets typed."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from certgov.client import ClmClient, Credentials, ObjectResult, SecretResult
from certgov.errors import ConflictError, UsageError
from tests.client.clm_fake import CREDS, FakeApi, account_obj, policy_obj

MakeClient = Callable[..., ClmClient]
ACCOUNT = "00000000-0000-4000-8000-000000000001"


def test_get_policy_captures_the_etag(fake: FakeApi, make_client: MakeClient) -> None:
    fake.add_policy("a")
    assert make_client().get_policy(1) == ObjectResult(policy_obj(1, "a"), '"1-1"', 200, False)


def test_create_policy_answers_201_with_the_etag(fake: FakeApi, make_client: MakeClient) -> None:
    result = make_client().create_policy({"name": "a", "is_enabled": False})
    assert result == ObjectResult(policy_obj(1, "a"), '"1-1"', 201, False)


def test_create_sends_no_idempotency_key_unless_given(
    fake: FakeApi, make_client: MakeClient
) -> None:
    make_client().create_policy({"name": "a"})
    assert "Idempotency-Key" not in fake.requests[-1].headers


def test_a_duplicate_name_is_a_conflict(fake: FakeApi, make_client: MakeClient) -> None:
    fake.add_policy("a")
    with pytest.raises(ConflictError) as info:
        make_client().create_policy({"name": "a"})
    assert info.value.message == "creating policy 'a' failed: conflict: a policy named 'a' exists"


def test_replace_policy_sends_if_match_and_returns_the_new_etag(
    fake: FakeApi, make_client: MakeClient
) -> None:
    fake.add_policy("a")
    result = make_client().replace_policy(1, {"description": "d"}, if_match='"1-1"')
    sent = fake.requests[-1]
    assert (sent.headers["If-Match"], json.loads(sent.content), result) == (
        '"1-1"',
        {"description": "d"},
        ObjectResult(policy_obj(1, "a", description="d"), '"1-2"', 200, False),
    )


def test_a_write_without_if_match_sends_none(fake: FakeApi, make_client: MakeClient) -> None:
    fake.add_policy("a")
    make_client().enable_policy(1)
    assert "If-Match" not in fake.requests[-1].headers


def test_enable_and_disable_policy(fake: FakeApi, make_client: MakeClient) -> None:
    fake.add_policy("a")
    client = make_client()
    enabled = client.enable_policy(1, if_match='"1-1"')
    disabled = client.disable_policy(1, if_match=enabled.etag)
    assert (
        enabled.data["is_enabled"],
        enabled.etag,
        disabled.data["is_enabled"],
        disabled.etag,
    ) == (
        True,
        '"1-2"',
        False,
        '"1-3"',
    )


def test_delete_policy_returns_an_empty_object(fake: FakeApi, make_client: MakeClient) -> None:
    fake.add_policy("a")
    assert make_client().delete_policy(1, if_match='"1-1"') == ObjectResult({}, None, 200, False)


def test_service_account_calls_use_the_uuid(fake: FakeApi, make_client: MakeClient) -> None:
    fake.add_account("ci")
    client = make_client()
    got = client.get_service_account(ACCOUNT)
    changed = client.replace_service_account(ACCOUNT, {"description": "d"}, if_match=got.etag)
    disabled = client.disable_service_account(ACCOUNT, if_match=changed.etag)
    enabled = client.enable_service_account(ACCOUNT, if_match=disabled.etag)
    deleted = client.delete_service_account(ACCOUNT, if_match=enabled.etag)
    assert (
        [got.etag, changed.etag, disabled.etag, enabled.etag],
        [changed.data["description"], disabled.data["is_active"], enabled.data["is_active"]],
        deleted,
        fake.paths()[1:],
    ) == (
        [f'"{ACCOUNT}-1"', f'"{ACCOUNT}-2"', f'"{ACCOUNT}-3"', f'"{ACCOUNT}-4"'],
        ["d", False, True],
        ObjectResult({}, None, 200, False),
        [
            f"GET /api/v1/service/service-accounts/{ACCOUNT}",
            f"PUT /api/v1/service/service-accounts/{ACCOUNT}",
            f"POST /api/v1/service/service-accounts/{ACCOUNT}/disable",
            f"POST /api/v1/service/service-accounts/{ACCOUNT}/enable",
            f"DELETE /api/v1/service/service-accounts/{ACCOUNT}",
        ],
    )


def test_create_service_account_returns_the_new_credentials(
    fake: FakeApi, make_client: MakeClient
) -> None:
    result = make_client().create_service_account({"name": "ci", "scopes": ["read"]}, "key-1")
    expected_obj = account_obj(ACCOUNT, "ci")
    assert (result, fake.requests[-1].headers["Idempotency-Key"]) == (
        SecretResult(
            expected_obj,
            f'"{ACCOUNT}-1"',
            201,
            False,
            Credentials(ACCOUNT, expected_obj["client_id"], "G" * 64),
        ),
        "key-1",
    )


def test_a_replayed_create_has_no_credentials(fake: FakeApi, make_client: MakeClient) -> None:
    obj = account_obj(ACCOUNT, "ci")
    body = {"success": True, "data": obj, "credentials": None, "replayed": True}
    fake.script("POST", "/service/service-accounts", httpx.Response(201, json=body))
    result = make_client().create_service_account({"name": "ci", "scopes": ["read"]}, "key-1")
    assert result == SecretResult(obj, None, 201, True, None)


def test_credentials_inside_the_object_are_moved_out_of_it(
    fake: FakeApi, make_client: MakeClient
) -> None:
    obj = account_obj(ACCOUNT, "ci")
    creds = {"client_id": obj["client_id"], "client_secret": "Z" * 64}
    body = {"success": True, "data": {**obj, "credentials": creds}}
    fake.script("POST", "/service/service-accounts", httpx.Response(201, json=body))
    result = make_client().create_service_account({"name": "ci", "scopes": ["read"]})
    assert result == SecretResult(
        obj, None, 201, False, Credentials(ACCOUNT, obj["client_id"], "Z" * 64)
    )


def test_regenerate_secret_asks_to_revoke_sessions(fake: FakeApi, make_client: MakeClient) -> None:
    fake.add_account("ci")
    result = make_client().regenerate_secret(
        ACCOUNT, revoke_sessions=True, if_match=f'"{ACCOUNT}-1"'
    )
    assert (fake.paths()[-1], result.etag, result.credentials) == (
        f"POST /api/v1/service/service-accounts/{ACCOUNT}/regenerate-secret?revoke_sessions=true",
        f'"{ACCOUNT}-2"',
        Credentials(ACCOUNT, account_obj(ACCOUNT, "ci")["client_id"], "N" * 64),
    )


def test_regenerate_secret_keeps_sessions_by_default(
    fake: FakeApi, make_client: MakeClient
) -> None:
    fake.add_account("ci")
    make_client().regenerate_secret(ACCOUNT)
    assert fake.paths()[-1] == f"POST /api/v1/service/service-accounts/{ACCOUNT}/regenerate-secret"


def test_a_secret_result_repr_hides_the_secret(fake: FakeApi, make_client: MakeClient) -> None:
    fake.add_account("ci")
    result = make_client().regenerate_secret(ACCOUNT)
    assert "N" * 64 not in repr(result)


def test_find_policy_by_name_uses_the_list(fake: FakeApi, make_client: MakeClient) -> None:
    fake.add_policy("a")
    fake.add_policy("b")
    client = make_client()
    found, missing = client.find_policy("b"), client.find_policy("c")
    assert (found, missing, client.request_count) == (
        ObjectResult({**policy_obj(2, "b"), "etag": '"2-1"'}, '"2-1"'),
        None,
        3,
    )


def test_find_service_account_by_name(fake: FakeApi, make_client: MakeClient) -> None:
    fake.add_account("ci")
    found = make_client().find_service_account("ci")
    assert found == ObjectResult(
        {**account_obj(ACCOUNT, "ci"), "etag": f'"{ACCOUNT}-1"'}, f'"{ACCOUNT}-1"'
    )


@pytest.mark.parametrize(
    ("kwargs", "body"),
    [
        ({}, {"request": {"action": "certificate.generate"}}),
        ({"policy_id": 7}, {"request": {"action": "certificate.generate"}, "policy_id": 7}),
        (
            {"policy": {"name": "new"}},
            {"request": {"action": "certificate.generate"}, "policy": {"name": "new"}},
        ),
    ],
    ids=["enabled-policies", "by-id", "inline"],
)
def test_validate_sends_the_dry_run_body(
    fake: FakeApi, make_client: MakeClient, kwargs: dict[str, object], body: dict[str, object]
) -> None:
    data = make_client().validate({"action": "certificate.generate"}, **kwargs)
    assert (data, json.loads(fake.requests[-1].content)) == (
        {"result": "pass", "allowed": True},
        body,
    )


def test_validate_refuses_both_policy_and_policy_id(make_client: MakeClient) -> None:
    with pytest.raises(UsageError, match=r"^validate takes a policy or a policy_id, not both$"):
        make_client().validate({}, policy={"name": "x"}, policy_id=1)


def test_request_certificate_returns_the_result(fake: FakeApi, make_client: MakeClient) -> None:
    data = make_client().request_certificate({"common_name": "a.example.com"}, idempotency_key="k")
    assert (data, fake.requests[-1].headers["Idempotency-Key"]) == (
        {"result": "pass", "cn": "a.example.com"},
        "k",
    )


def test_an_object_answer_without_data_is_a_bad_answer(
    fake: FakeApi, make_client: MakeClient
) -> None:
    fake.script("GET", "/service/policies/1", httpx.Response(200, json={"success": True}))
    with pytest.raises(Exception, match=r"^reading policy 1: the server at http://clm\.test sent"):
        make_client().get_policy(1)


def test_a_validate_answer_without_data_is_a_bad_answer(
    fake: FakeApi, make_client: MakeClient
) -> None:
    fake.script("POST", "/service/policies/validate", httpx.Response(200, json={"success": True}))
    with pytest.raises(Exception, match=r"^validating a request against the enabled policies: "):
        make_client().validate({})


def test_audit_filters_accept_datetimes(fake: FakeApi, make_client: MakeClient) -> None:
    make_client().audit_events(since=datetime(2026, 3, 1, tzinfo=UTC), service_account=ACCOUNT)
    assert fake.paths()[-1] == (
        "GET /api/v1/service/audit-events?since=2026-03-01T00%3A00%3A00%2B00%3A00"
        f"&service_account={ACCOUNT}&page=1&per_page=100"
    )


def test_base_url_may_already_end_in_the_api_path(fake: FakeApi) -> None:
    with ClmClient("http://clm.test/api/v1/", CREDS, transport=httpx.MockTransport(fake)) as c:
        c.verify()
    assert (c.server, fake.paths()[0]) == (
        "http://clm.test/api/v1",
        "POST /api/v1/service-account/auth",
    )
