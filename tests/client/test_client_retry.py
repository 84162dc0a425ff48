"""Retries: 429 with Retry-After, lost connections on idempotent calls, creates only with a key."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from certgov.client import ClmClient, RetryPolicy, is_idempotent
from certgov.client.retry import full_jitter, parse_retry_after
from certgov.errors import (
    AuthenticationError,
    ConnectionFailedError,
    PreconditionFailedError,
    RateLimitedError,
)
from tests.client.clm_fake import CREDS, FakeApi, Sleeps, error

MakeClient = Callable[..., ClmClient]
POLICY_BODY = {"name": "new", "matching_criteria": {"domains": ["example.com"]}, "rules": []}


def too_many(seconds: str | None = None) -> httpx.Response:
    headers = {"Retry-After": seconds} if seconds is not None else {}
    return error(429, "TOO_MANY_REQUESTS", "slow down", **headers)


def test_429_waits_as_retry_after_says(
    fake: FakeApi, make_client: MakeClient, sleeps: Sleeps
) -> None:
    fake.add_policy("a")
    fake.script("GET", "/service/policies/1", too_many("3"), too_many("1"))
    result = make_client().get_policy(1)
    assert (result.data["name"], sleeps.calls, fake.paths()[1:]) == (
        "a",
        [3.0, 1.0],
        ["GET /api/v1/service/policies/1"] * 3,
    )


def test_429_without_retry_after_backs_off_exponentially(
    fake: FakeApi, make_client: MakeClient, sleeps: Sleeps
) -> None:
    fake.add_policy("a")
    fake.script("GET", "/service/policies/1", too_many(), too_many(), too_many())
    make_client().get_policy(1)
    assert sleeps.calls == [0.5, 1.0, 2.0]


def test_429_on_a_create_is_retried_without_a_key(
    fake: FakeApi, make_client: MakeClient, sleeps: Sleeps
) -> None:
    fake.script("POST", "/service/policies", too_many("2"))
    result = make_client().create_policy(dict(POLICY_BODY))
    assert (result.status, sleeps.calls, len(fake.policies)) == (201, [2.0], 1)


def test_429_beyond_the_attempts_raises_rate_limited(
    fake: FakeApi, make_client: MakeClient, sleeps: Sleeps
) -> None:
    fake.script("GET", "/service/policies/1", *[too_many("1")] * 4)
    with pytest.raises(RateLimitedError) as info:
        make_client().get_policy(1)
    assert (info.value.message, info.value.retry_after, sleeps.calls) == (
        "reading policy 1 failed: rate-limited by the server: retry in 1 second",
        1.0,
        [1.0, 1.0, 1.0],
    )


def test_a_retry_after_longer_than_allowed_is_not_waited_for(
    fake: FakeApi, make_client: MakeClient, sleeps: Sleeps
) -> None:
    fake.script("GET", "/service/policies/1", too_many("600"))
    with pytest.raises(RateLimitedError):
        make_client().get_policy(1)
    assert sleeps.calls == []


def test_retries_stop_when_the_time_budget_is_spent(
    fake: FakeApi, make_client: MakeClient, sleeps: Sleeps
) -> None:
    fake.script("GET", "/service/policies/1", *[too_many("25")] * 4)
    with pytest.raises(RateLimitedError):
        make_client().get_policy(1)
    assert sleeps.calls == [25.0, 25.0]  # a third wait would pass the 60 s budget


def test_login_lockout_says_when_to_retry(
    fake: FakeApi, make_client: MakeClient, sleeps: Sleeps
) -> None:
    fake.script("POST", "/service-account/auth", too_many("900"))
    with pytest.raises(AuthenticationError) as info:
        make_client().get_policy(1)
    assert (info.value.message, info.value.exit_code, sleeps.calls) == (
        "login for service account 550e8400-e29b-41d4-a716-446655440000 is locked out after too "
        "many failed attempts, or rate-limited: retry in 900 seconds",
        3,
        [],
    )


def test_a_lost_answer_to_a_get_is_retried(
    fake: FakeApi, make_client: MakeClient, sleeps: Sleeps
) -> None:
    fake.add_policy("a")
    fake.script("GET", "/service/policies/1", httpx.ReadTimeout("slow"), httpx.ReadError("reset"))
    result = make_client().get_policy(1)
    assert (result.data["name"], sleeps.calls) == ("a", [0.5, 1.0])


def test_connection_errors_give_up_after_max_attempts(
    fake: FakeApi, make_client: MakeClient, sleeps: Sleeps
) -> None:
    fake.script("GET", "/service/policies/1", *[httpx.ReadError("reset")] * 4)
    with pytest.raises(ConnectionFailedError) as info:
        make_client().get_policy(1)
    assert (info.value.message, info.value.exit_code, sleeps.calls) == (
        "cannot reach the CLM API at http://clm.test: reset",
        3,
        [0.5, 1.0, 2.0],
    )


def test_a_create_without_key_is_not_retried_after_a_lost_answer(
    fake: FakeApi, make_client: MakeClient, sleeps: Sleeps
) -> None:
    fake.script("POST", "/service/policies", httpx.ReadError("reset"))
    with pytest.raises(ConnectionFailedError) as info:
        make_client().create_policy(dict(POLICY_BODY))
    assert (info.value.message, fake.paths()[1:], sleeps.calls) == (
        "creating policy 'new': the answer was lost (reset), so it may or may not have taken "
        "effect on the server at http://clm.test",
        ["POST /api/v1/service/policies"],
        [],
    )


def test_a_create_with_key_is_retried_with_the_same_key(
    fake: FakeApi, make_client: MakeClient, sleeps: Sleeps
) -> None:
    fake.script("POST", "/service/policies", httpx.ReadError("reset"))
    result = make_client().create_policy(dict(POLICY_BODY), idempotency_key="plan-1:Policy/new")
    keys = [r.headers.get("Idempotency-Key") for r in fake.requests[1:]]
    assert (result.data["name"], keys, sleeps.calls) == (
        "new",
        ["plan-1:Policy/new", "plan-1:Policy/new"],
        [0.5],
    )


def test_a_create_that_never_left_is_retried_without_a_key(
    fake: FakeApi, make_client: MakeClient, sleeps: Sleeps
) -> None:
    fake.script("POST", "/service/policies", httpx.ConnectError("refused"))
    result = make_client().create_policy(dict(POLICY_BODY))
    assert (result.status, sleeps.calls) == (201, [0.5])


def test_regenerate_secret_is_not_retried_after_a_lost_answer(
    fake: FakeApi, make_client: MakeClient
) -> None:
    account = fake.add_account("ci")
    path = f"/service/service-accounts/{account['uuid']}/regenerate-secret"
    fake.script("POST", path, httpx.ReadError("reset"))
    with pytest.raises(ConnectionFailedError):
        make_client().regenerate_secret(account["uuid"])
    assert fake.paths()[1:] == [f"POST /api/v1{path}"]


def test_a_retried_write_that_meets_412_says_it_may_have_landed(
    fake: FakeApi, make_client: MakeClient
) -> None:
    fake.add_policy("a")

    def applied_then_lost(request: httpx.Request) -> httpx.Response:
        fake.serve(request)
        raise httpx.ReadError("reset")

    fake.script("POST", "/service/policies/1/enable", applied_then_lost)
    with pytest.raises(PreconditionFailedError) as info:
        make_client().enable_policy(1, if_match='"1-1"')
    assert info.value.message == (
        'enabling policy 1 failed: changed by someone else since it was read (If-Match "1-1" '
        'no longer matches; it is now "1-2"); an earlier attempt whose answer was lost may have '
        "made this change itself"
    )


def test_an_unsupported_scheme_is_not_retried(sleeps: Sleeps) -> None:
    client = ClmClient("ftp://clm.test", CREDS, sleep=sleeps.sleep)
    with pytest.raises(ConnectionFailedError), client:
        client.get_policy(1)
    assert sleeps.calls == []


@pytest.mark.parametrize(
    ("method", "path", "key", "expected"),
    [
        ("GET", "/service/policies", None, True),
        ("PUT", "/service/policies/1", None, True),
        ("DELETE", "/service/policies/1", None, True),
        ("POST", "/service/policies/1/enable", None, True),
        ("POST", "/service/service-accounts/u/disable", None, True),
        ("POST", "/service/policies/validate", None, True),
        ("POST", "/service-account/auth", None, True),
        ("POST", "/service-account/auth/revoke", None, True),
        ("POST", "/service/policies", None, False),
        ("POST", "/service/policies", "k", True),
        ("POST", "/service/certificates", None, False),
        ("POST", "/service/service-accounts/u/regenerate-secret", None, False),
    ],
)
def test_idempotent_calls(method: str, path: str, key: str | None, expected: bool) -> None:
    assert is_idempotent(method, path, idempotency_key=key) is expected


@pytest.mark.parametrize(
    ("header", "expected"), [("3", 3.0), (" 1.5 ", 1.5), ("-2", 0.0), ("soon", None), (None, None)]
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_backoff_is_capped_before_the_jitter() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0, jitter=lambda cap: cap)
    assert [policy.backoff(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_full_jitter_stays_within_its_cap() -> None:
    waits = [full_jitter(2.0) for _ in range(200)]
    assert (min(waits) >= 0.0, max(waits) <= 2.0) == (True, True)
