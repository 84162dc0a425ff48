"""The HTTP surface: error envelopes for bad input, body limit, rate limit, access log, OpenAPI,
health, and a restart keeping the data."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from certgov.server import ServerConfigError, Settings, create_app
from tests.server.conftest import Harness

LOGIN = "/service-account/auth"
ACCOUNTS = "/service/service-accounts"


def envelope(status_code: int, code: str, message: str, details: Any) -> tuple[int, dict[str, Any]]:
    return status_code, {
        "success": False,
        "error": {"code": code, "message": message, "details": details},
    }


def test_malformed_json_is_a_validation_error(hs: Harness) -> None:
    response = hs.as_admin().post(
        ACCOUNTS, content=b'{"name": "ci",', headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()) == envelope(
        422,
        "VALIDATION_ERROR",
        "the request is invalid",
        [
            {
                "field": "body",
                "message": "malformed JSON at character 14: "
                "Expecting property name enclosed in double quotes",
            }
        ],
    )


def test_a_body_that_is_not_utf8_is_a_validation_error(hs: Harness) -> None:
    response = hs.client().post(
        LOGIN, content=b'{"uuid": "\xff"}', headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()) == envelope(
        422,
        "VALIDATION_ERROR",
        "the request is invalid",
        [{"field": "body", "message": "malformed JSON at byte 10: the body is not UTF-8 text"}],
    )


def test_a_body_nested_past_the_decoder_is_a_validation_error(hs: Harness) -> None:
    response = hs.client().post(
        LOGIN,
        content=b"[" * 100_000 + b"]" * 100_000,
        headers={"Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()) == envelope(
        422,
        "VALIDATION_ERROR",
        "the request is invalid",
        [{"field": "body", "message": "malformed JSON: nested too deeply to be read"}],
    )


def test_a_json_array_body_is_a_validation_error(hs: Harness) -> None:
    response = hs.client().post(LOGIN, json=["a"])
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {
            "field": "body",
            "message": "Input should be a valid dictionary or object to extract fields from",
        }
    ]


def test_body_over_one_mebibyte_is_refused(hs: Harness) -> None:
    big = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    response = hs.as_admin().post(
        ACCOUNTS, content=big, headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()) == envelope(
        413, "PAYLOAD_TOO_LARGE", "the request body is over 1048576 bytes", []
    )


def test_chunked_body_over_the_limit_is_refused(hs: Harness) -> None:
    def chunks() -> Any:
        for _ in range(17):
            yield b"x" * 65536

    response = hs.client().post(LOGIN, content=chunks())
    assert response.status_code == 413


def test_body_at_the_limit_is_read(hs: Harness) -> None:
    body = b'{"uuid": "' + b"x" * (1024 * 1024 - 12) + b'"}'
    assert len(body) == 1024 * 1024
    response = hs.client().post(LOGIN, content=body, headers={"Content-Type": "application/json"})
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_unknown_path_answers_the_envelope(hs: Harness) -> None:
    response = hs.client().get("/no/such/thing")
    assert (response.status_code, response.json()) == envelope(404, "NOT_FOUND", "Not Found", [])


def test_wrong_method_answers_the_envelope(hs: Harness) -> None:
    response = hs.client().delete(LOGIN)
    assert (response.status_code, response.json()) == envelope(
        405, "METHOD_NOT_ALLOWED", "Method Not Allowed", []
    )


def test_healthz_needs_no_session(hs: Harness) -> None:
    response = hs.client().get("http://testserver/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_login_rate_limit_answers_429_with_retry_after(
    sqlite_url: str, harness_factory: Callable[..., Harness]
) -> None:
    h = harness_factory(sqlite_url, rate_limit=20)
    client = h.client("192.0.2.1")
    statuses = [client.post(LOGIN, json=h.admin_credentials).status_code for _ in range(41)]
    refused = client.post(LOGIN, json=h.admin_credentials)
    assert statuses == [200] * 40 + [429]
    assert (refused.status_code, refused.json()) == envelope(
        429, "TOO_MANY_REQUESTS", "too many requests; slow down", []
    )
    assert refused.headers["retry-after"] == "1"
    assert h.client("192.0.2.2").post(LOGIN, json=h.admin_credentials).status_code == 200
    h.clock.advance(seconds=1)
    assert client.post(LOGIN, json=h.admin_credentials).status_code == 200


def test_rate_limited_logins_neither_lock_out_nor_audit(
    sqlite_url: str, harness_factory: Callable[..., Harness]
) -> None:
    h = harness_factory(sqlite_url, rate_limit=1)
    client = h.client("192.0.2.1")
    wrong = {**h.admin_credentials, "client_secret": "n" * 64}
    statuses = [client.post(LOGIN, json=wrong).status_code for _ in range(8)]
    assert statuses == [401, 401, 429, 429, 429, 429, 429, 429]
    assert len(h.events()) == 3
    h.clock.advance(seconds=2)
    assert client.post(LOGIN, json=h.admin_credentials).status_code == 200


def test_access_log_has_address_method_path_and_status_only(
    hs: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    client = hs.as_admin("192.0.2.44")
    with caplog.at_level(logging.INFO, logger="certgov.server.access"):
        client.post(ACCOUNTS + "?x=1", json={"name": "ci", "scopes": ["read"]})
    assert [r.getMessage() for r in caplog.records] == [
        '192.0.2.44 "POST /api/v1/service/service-accounts" 201'
    ]


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "::/0", "10.0.0.1/8", "nonsense"])
def test_unsafe_or_invalid_trusted_proxies_are_refused(cidr: str) -> None:
    with pytest.raises(ServerConfigError):
        Settings(trusted_proxies=(cidr,))


def test_negative_rate_limit_is_refused() -> None:
    with pytest.raises(ServerConfigError):
        Settings(rate_limit=-1)


def test_memory_sqlite_is_refused() -> None:
    with pytest.raises(ValueError, match="must be a file"):
        create_app(Settings(database_url="sqlite://"))


def test_second_start_keeps_the_data(
    sqlite_url: str, harness_factory: Callable[..., Harness]
) -> None:
    first = harness_factory(sqlite_url)
    h_account, _ = first.new_account(first.as_admin(), "kept", ["read"])
    first.close()
    second = create_app(Settings(database_url=sqlite_url, clock=first.clock, rate_limit=0))
    try:
        with second.state.server.store.transaction() as tx:
            assert tx.accounts.get(h_account["uuid"])["name"] == "kept"  # type: ignore[index]
            assert tx.audit.head()[0] == 3
    finally:
        second.state.server.store.close()


# -- OpenAPI -------------------------------------------------------------------------------------


@pytest.fixture
def openapi(hs: Harness) -> dict[str, Any]:
    document: dict[str, Any] = hs.client().get("http://testserver/openapi.json").json()
    return document


def test_openapi_documents_every_api_operation_with_models(openapi: dict[str, Any]) -> None:
    gaps = []
    for path, operations in openapi["paths"].items():
        for method, op in operations.items():
            ok = op["responses"][next(s for s in op["responses"] if s.startswith("2"))]
            if path.endswith("/ca.pem"):
                assert list(ok["content"]) == ["application/x-pem-file"]
                continue
            if "$ref" not in str(ok["content"]["application/json"]["schema"]):
                gaps.append(f"{method} {path}: success")
            if path.startswith("/api/") and "$ref" not in str(op["responses"]["422"]):
                gaps.append(f"{method} {path}: error envelope")
            bodiless = path.endswith(("/revoke", "/enable", "/disable", "/regenerate-secret"))
            if method in ("post", "put") and not bodiless and "requestBody" not in op:
                gaps.append(f"{method} {path}: request body")
    assert gaps == []


def test_openapi_names_the_error_envelope(openapi: dict[str, Any]) -> None:
    schema = openapi["components"]["schemas"]["ErrorEnvelope"]
    assert sorted(schema["properties"]) == ["error", "success"]


def test_openapi_lists_every_endpoint(openapi: dict[str, Any]) -> None:
    core = {
        "/api/v1/service/policies",
        "/api/v1/service/policies/validate",
        "/api/v1/service/policies/{policy_id}",
        "/api/v1/service/policies/{policy_id}/enable",
        "/api/v1/service/policies/{policy_id}/disable",
        "/api/v1/service/certificates",
        "/api/v1/service/ca.pem",
        "/api/v1/service-account/auth",
        "/api/v1/service-account/auth/verify",
        "/api/v1/service-account/auth/revoke",
        "/api/v1/service/service-accounts",
        "/api/v1/service/service-accounts/{uuid}",
        "/api/v1/service/service-accounts/{uuid}/enable",
        "/api/v1/service/service-accounts/{uuid}/disable",
        "/api/v1/service/service-accounts/{uuid}/regenerate-secret",
        "/api/v1/service/audit-events",
        "/healthz",
    }
    assert set(openapi["paths"]) == core
