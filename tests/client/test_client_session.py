"""Sessions: lazy login once per run, re-login once on expiry, revoke on every way out."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from certgov.client import ClmClient, SessionInfo
from certgov.errors import AuthenticationError, ConnectionFailedError, UsageError
from tests.client.clm_fake import BASE, CREDS, FakeApi, error

MakeClient = Callable[..., ClmClient]


def test_entering_the_client_sends_nothing(fake: FakeApi, make_client: MakeClient) -> None:
    with make_client():
        pass
    assert fake.paths() == []


def test_logs_in_once_for_many_calls(fake: FakeApi, make_client: MakeClient) -> None:
    fake.add_policy("a")
    with make_client() as client:
        client.get_policy(1)
        client.get_policy(1)
        client.list_policies()
    assert fake.paths() == [
        "POST /api/v1/service-account/auth",
        "GET /api/v1/service/policies/1",
        "GET /api/v1/service/policies/1",
        "GET /api/v1/service/policies?page=1&per_page=100",
        "POST /api/v1/service-account/auth/revoke",
    ]


def test_concurrent_first_calls_share_one_login(fake: FakeApi, make_client: MakeClient) -> None:
    fake.add_policy("a")
    client = make_client()
    threads = [threading.Thread(target=client.get_policy, args=(1,)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fake.logins == 1


def test_sends_the_token_as_bearer(fake: FakeApi, make_client: MakeClient) -> None:
    fake.add_policy("a")
    make_client().get_policy(1)
    assert fake.requests[1].headers["Authorization"] == "Bearer token1"


def test_revokes_the_token_on_normal_exit(fake: FakeApi, make_client: MakeClient) -> None:
    fake.add_policy("a")
    with make_client() as client:
        client.get_policy(1)
    assert (fake.revoked, fake.tokens) == (["token1"], set())


def test_revokes_the_token_on_error(fake: FakeApi, make_client: MakeClient) -> None:
    fake.add_policy("a")
    client = make_client()

    def run() -> None:
        with client:
            client.get_policy(1)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        run()
    assert fake.revoked == ["token1"]


def test_revokes_the_token_on_keyboard_interrupt(fake: FakeApi, make_client: MakeClient) -> None:
    fake.add_policy("a")
    client = make_client()

    def run() -> None:
        with client:
            client.get_policy(1)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run()
    assert fake.revoked == ["token1"]


def test_revokes_the_token_when_a_call_fails(fake: FakeApi, make_client: MakeClient) -> None:
    with pytest.raises(Exception, match="no such object"), make_client() as client:
        client.get_policy(99)
    assert fake.revoked == ["token1"]


def test_closing_without_a_session_sends_nothing(fake: FakeApi, make_client: MakeClient) -> None:
    make_client().close()
    assert fake.paths() == []


def test_close_twice_revokes_once(fake: FakeApi, make_client: MakeClient) -> None:
    fake.add_policy("a")
    client = make_client()
    client.get_policy(1)
    client.close()
    client.close()
    assert fake.revoked == ["token1"]


def test_a_closed_client_refuses_calls(make_client: MakeClient) -> None:
    client = make_client()
    client.close()
    with pytest.raises(UsageError, match=r"^the CLM client is closed$"):
        client.get_policy(1)


def test_close_swallows_a_failed_revoke(
    fake: FakeApi, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    fake.add_policy("a")
    fake.script("POST", "/service-account/auth/revoke", error(503, "AUDIT_UNAVAILABLE", "down"))
    with make_client() as client:
        client.get_policy(1)
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        "could not revoke the session token: revoking the session failed: the server cannot "
        "write its audit log, so it changed nothing; try again later"
    ]


def test_close_swallows_an_unreachable_server_on_revoke(
    fake: FakeApi, make_client: MakeClient
) -> None:
    fake.add_policy("a")
    down = httpx.ConnectError("refused")
    fake.script("POST", "/service-account/auth/revoke", down, down)
    client = make_client()
    client.get_policy(1)
    client.close()
    assert fake.paths()[-2:] == ["POST /api/v1/service-account/auth/revoke"] * 2


def test_revoke_accepts_a_token_the_server_already_forgot(
    fake: FakeApi, make_client: MakeClient
) -> None:
    fake.add_policy("a")
    fake.script("POST", "/service-account/auth/revoke", error(401, "INVALID_SESSION", "gone"))
    client = make_client()
    client.get_policy(1)
    client.revoke()
    assert client.request_count == 3


def test_revoke_raises_other_refusals(fake: FakeApi, make_client: MakeClient) -> None:
    fake.add_policy("a")
    fake.script("POST", "/service-account/auth/revoke", error(503, "AUDIT_UNAVAILABLE", "down"))
    client = make_client()
    client.get_policy(1)
    with pytest.raises(Exception, match=r"^revoking the session failed: the server cannot write"):
        client.revoke()


def test_relogs_in_once_on_session_expired(fake: FakeApi, make_client: MakeClient) -> None:
    fake.add_policy("a")
    client = make_client()
    client.get_policy(1)
    fake.script("GET", "/service/policies/1", error(401, "SESSION_EXPIRED", "expired"))
    result = client.get_policy(1)
    assert (result.data["name"], fake.logins, fake.paths()[1:]) == (
        "a",
        2,
        [
            "GET /api/v1/service/policies/1",
            "GET /api/v1/service/policies/1",
            "POST /api/v1/service-account/auth",
            "GET /api/v1/service/policies/1",
        ],
    )


def test_uses_the_new_token_after_relogin(fake: FakeApi, make_client: MakeClient) -> None:
    fake.add_policy("a")
    client = make_client()
    fake.script("GET", "/service/policies/1", error(401, "SESSION_EXPIRED", "expired"))
    client.get_policy(1)
    assert fake.requests[-1].headers["Authorization"] == "Bearer token2"


def test_relogs_in_at_most_once_per_call(fake: FakeApi, make_client: MakeClient) -> None:
    expired = error(401, "SESSION_EXPIRED", "expired")
    fake.script("GET", "/service/policies/1", expired, expired)
    with pytest.raises(AuthenticationError) as info:
        make_client().get_policy(1)
    assert (fake.logins, info.value.message) == (
        2,
        "reading policy 1 failed: the server refused the session token (SESSION_EXPIRED) even "
        "after a fresh login",
    )


def test_concurrent_expiries_share_one_relogin(fake: FakeApi, make_client: MakeClient) -> None:
    fake.add_policy("a")
    client = make_client()
    client.get_policy(1)
    fake.tokens.clear()  # every thread's next call answers INVALID_SESSION with token1
    threads = [threading.Thread(target=client.get_policy, args=(1,)) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fake.logins == 2


def test_a_call_reuses_a_relogin_made_while_it_was_in_flight(
    fake: FakeApi, make_client: MakeClient
) -> None:
    fake.add_policy("a")
    fake.add_policy("b")
    client = make_client()
    expired = error(401, "SESSION_EXPIRED", "expired")

    def overtaken(request: httpx.Request) -> httpx.Response:
        client.get_policy(2)  # meets expiry too, and logs in again first
        return expired

    fake.script("GET", "/service/policies/1", overtaken)
    fake.script("GET", "/service/policies/2", expired)
    client.get_policy(1)
    assert (fake.logins, fake.requests[-1].headers["Authorization"]) == (2, "Bearer token2")


def test_verify_reports_the_session(fake: FakeApi, make_client: MakeClient) -> None:
    info = make_client().verify()
    assert info == SessionInfo(
        account_uuid=CREDS.uuid,
        account_name="CI/CD Pipeline Account",
        scopes=("read", "write", "admin"),
        expires_at=datetime(2026, 3, 25, 10, tzinfo=UTC),
        expires_in=86400,
    )


def test_ensure_session_keeps_a_long_session(fake: FakeApi, make_client: MakeClient) -> None:
    client = make_client()
    client.ensure_session(timedelta(minutes=10))
    assert (fake.logins, fake.revoked) == (1, [])


def test_ensure_session_logs_in_again_when_short(fake: FakeApi, make_client: MakeClient) -> None:
    fake.expires_in = 300
    client = make_client()
    info = client.ensure_session(timedelta(minutes=10))
    assert (fake.logins, fake.revoked, info.expires_in, client.session) == (
        2,
        ["token1"],
        300,
        info,
    )


def test_ensure_session_survives_a_failed_revoke_of_the_old_token(
    fake: FakeApi, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    fake.expires_in = 300
    down = httpx.ConnectError("refused")
    fake.script("POST", "/service-account/auth/revoke", down, down)
    client = make_client()
    info = client.ensure_session(timedelta(minutes=10))
    assert (info, [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]) == (
        client.session,
        [
            "could not revoke the replaced session token: cannot reach the CLM API at "
            "http://clm.test: refused"
        ],
    )


def test_login_refusal_is_not_retried_by_relogin(fake: FakeApi) -> None:
    wrong = ClmClient(
        BASE,
        CREDS.__class__(CREDS.uuid, CREDS.client_id, "wrong"),
        transport=httpx.MockTransport(fake),
    )
    with pytest.raises(AuthenticationError), wrong:
        wrong.get_policy(1)
    assert fake.paths() == ["POST /api/v1/service-account/auth"]


def test_a_login_answer_without_token_is_a_bad_answer(
    fake: FakeApi, make_client: MakeClient
) -> None:
    fake.script("POST", "/service-account/auth", httpx.Response(200, json={"success": True}))
    with pytest.raises(
        Exception, match=r"^logging in: the server at http://clm\.test sent an answer"
    ):
        make_client().get_policy(1)


def test_a_session_answer_without_expiry_is_a_bad_answer(
    fake: FakeApi, make_client: MakeClient
) -> None:
    fake.script(
        "POST",
        "/service-account/auth",
        httpx.Response(200, json={"success": True, "session": {"token": "t"}}),
    )
    with pytest.raises(Exception, match=r"^the server's session answer lacks service_account"):
        make_client().get_policy(1)


def test_unreachable_login_is_a_connection_failure(fake: FakeApi, make_client: MakeClient) -> None:
    down = httpx.ConnectError("[Errno 111] Connection refused")
    fake.script("POST", "/service-account/auth", down, down, down, down)
    with pytest.raises(ConnectionFailedError) as info:
        make_client().get_policy(1)
    assert info.value.message == (
        "cannot reach the CLM API at http://clm.test: [Errno 111] Connection refused"
    )


def test_parallelism_below_one_is_refused() -> None:
    with pytest.raises(UsageError, match=r"^parallelism must be at least 1, not 0$"):
        ClmClient(BASE, CREDS, parallelism=0)
