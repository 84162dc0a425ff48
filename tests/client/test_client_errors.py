"""Every contract error code becomes its exception class with a message that says what to fix."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from certgov.client import NO_RETRY, ClmClient
from certgov.client.error_map import parse_envelope
from certgov.client.routes import Route, route_for
from certgov.errors import (
    ApiError,
    AuthenticationError,
    CertgovError,
    ConflictError,
    ExtensionMissingError,
    InvalidRequestError,
    NotFoundError,
    PolicyViolationError,
    PreconditionFailedError,
    RateLimitedError,
    ScopeError,
)
from tests.client.clm_fake import SECRET, UUID, FakeApi, error

MakeClient = Callable[..., ClmClient]
ACCOUNT = "00000000-0000-4000-8000-000000000001"


def answer_id(answer: httpx.Response) -> str:
    envelope = parse_envelope(answer)
    return envelope.code if envelope else f"HTTP_{answer.status_code}"


@pytest.mark.parametrize(
    ("answer", "cls", "exit_code", "message"),
    [
        (
            error(
                422,
                "VALIDATION_ERROR",
                "invalid fields",
                [
                    {
                        "field": "rules[2].values.minimum_bits",
                        "message": "must be between 2048 and 8192",
                    },
                    {"field": "name", "message": "required"},
                ],
            ),
            InvalidRequestError,
            1,
            "changing policy 1 failed: invalid fields: rules[2].values.minimum_bits: must be "
            "between 2048 and 8192; name: required",
        ),
        (
            error(401, "SERVICE_ACCOUNT_INACTIVE", "disabled"),
            AuthenticationError,
            3,
            f"service account {UUID} is disabled: an admin must enable it, or use another account",
        ),
        (
            error(401, "SERVICE_ACCOUNT_EXPIRED", "expired"),
            AuthenticationError,
            3,
            f"service account {UUID} has expired: an admin must move its expires_at into the "
            "future, or use another account",
        ),
        (
            error(401, "IP_NOT_ALLOWED", "198.51.100.7 is not allowed"),
            AuthenticationError,
            3,
            f"service account {UUID} may not be used from this machine's address (198.51.100.7 "
            "is not allowed): add the address to the account's ip_allowlist, or run from an "
            "allowed one",
        ),
        (
            error(403, "INSUFFICIENT_SCOPE", "scope", [{"field": "scope", "message": "write"}]),
            ScopeError,
            3,
            "changing policies needs scope write; this account has read",
        ),
        (
            error(404, "NOT_FOUND", "policy 1 not found"),
            NotFoundError,
            1,
            "changing policy 1 failed: no such object on the server at http://clm.test",
        ),
        (
            error(409, "CONFLICT", "a policy named 'b' exists"),
            ConflictError,
            1,
            "changing policy 1 failed: conflict: a policy named 'b' exists",
        ),
        (
            error(412, "PRECONDITION_FAILED", "stale", {"id": 1, "etag": '"1-5"'}),
            PreconditionFailedError,
            1,
            'changing policy 1 failed: changed by someone else since it was read (If-Match "1-1" '
            'no longer matches; it is now "1-5")',
        ),
        (
            error(413, "PAYLOAD_TOO_LARGE", "too big"),
            ApiError,
            1,
            "changing policy 1 failed: the request body is larger than the server accepts (1 MiB)",
        ),
        (
            error(429, "TOO_MANY_REQUESTS", "slow", **{"Retry-After": "3600"}),
            RateLimitedError,
            1,
            "changing policy 1 failed: rate-limited by the server: retry in 3600 seconds",
        ),
        (
            error(429, "TOO_MANY_REQUESTS", "slow", **{"Retry-After": "later"}),
            RateLimitedError,
            1,
            "changing policy 1 failed: rate-limited by the server: retry later",
        ),
        (
            error(503, "AUDIT_UNAVAILABLE", "audit down"),
            ApiError,
            1,
            "changing policy 1 failed: the server cannot write its audit log, so it changed "
            "nothing; try again later",
        ),
        (
            error(500, "INTERNAL", "oops"),
            ApiError,
            1,
            "changing policy 1 failed: INTERNAL: oops",
        ),
        (
            httpx.Response(500, json={"success": False, "error": "oops"}),
            ApiError,
            1,
            "changing policy 1 failed: the server answered 500 Internal Server Error",
        ),
        (
            httpx.Response(502, text="<html>bad gateway</html>"),
            ApiError,
            1,
            "changing policy 1 failed: the server answered 502 Bad Gateway",
        ),
    ],
    ids=lambda v: answer_id(v) if isinstance(v, httpx.Response) else None,
)
def test_error_answers_map_to_typed_errors(
    fake: FakeApi,
    make_client: MakeClient,
    answer: httpx.Response,
    cls: type[ApiError],
    exit_code: int,
    message: str,
) -> None:
    fake.scopes = ["read"]
    fake.script("PUT", "/service/policies/1", answer)
    with pytest.raises(ApiError) as info:
        make_client(retry=NO_RETRY).replace_policy(1, {"name": "a"}, if_match='"1-1"')
    assert (type(info.value), info.value.exit_code, info.value.message) == (cls, exit_code, message)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            error(401, "INVALID_CREDENTIALS", "invalid credentials"),
            f"login refused for service account {UUID}: unknown uuid, wrong client_id or wrong "
            "client_secret; check the credentials file or CERTGOV_UUID, CERTGOV_CLIENT_ID and "
            "CERTGOV_CLIENT_SECRET",
        ),
        (
            error(401, "SERVICE_ACCOUNT_INACTIVE", "disabled"),
            f"service account {UUID} is disabled: an admin must enable it, or use another account",
        ),
        (
            error(401, "SERVICE_ACCOUNT_EXPIRED", "expired"),
            f"service account {UUID} has expired: an admin must move its expires_at into the "
            "future, or use another account",
        ),
        (
            error(401, "IP_NOT_ALLOWED", "IP not allowed"),
            f"service account {UUID} may not be used from this machine's address (IP not "
            "allowed): add the address to the account's ip_allowlist, or run from an allowed one",
        ),
        (
            error(429, "TOO_MANY_REQUESTS", "locked", **{"Retry-After": "300"}),
            f"login for service account {UUID} is locked out after too many failed attempts, or "
            "rate-limited: retry in 300 seconds",
        ),
        (
            error(429, "TOO_MANY_REQUESTS", "locked"),
            f"login for service account {UUID} is locked out after too many failed attempts, or "
            "rate-limited: retry later",
        ),
    ],
    ids=["credentials", "inactive", "expired", "ip", "lockout", "lockout-no-header"],
)
def test_login_refusals_say_what_to_fix(
    fake: FakeApi, make_client: MakeClient, answer: httpx.Response, message: str
) -> None:
    fake.script("POST", "/service-account/auth", *[answer] * 4)
    with pytest.raises(AuthenticationError) as info:
        make_client(retry=NO_RETRY).list_policies()
    assert (info.value.exit_code, info.value.code, info.value.message) == (
        3,
        answer.json()["error"]["code"],
        message,
    )


@pytest.mark.parametrize(
    ("details", "call", "message"),
    [
        (
            [{"field": "scope", "message": "requires admin"}],
            lambda c: c.list_service_accounts(),
            "reading service accounts needs scope admin; this account has read, write",
        ),
        (
            {"required_scope": "admin"},
            lambda c: c.audit_events(),
            "reading audit events needs scope admin; this account has read, write",
        ),
        (
            None,
            lambda c: c.create_service_account({"name": "x", "scopes": ["read"]}),
            "creating service accounts needs scope admin; this account has read, write",
        ),
        (
            ["admin"],
            lambda c: c.disable_service_account(ACCOUNT),
            "disabling service accounts needs scope admin; this account has read, write",
        ),
    ],
    ids=["details-list", "details-dict", "contract-table", "details-strings"],
)
def test_scope_errors_name_the_needed_and_held_scopes(
    fake: FakeApi,
    make_client: MakeClient,
    details: Any,
    call: Callable[[ClmClient], object],
    message: str,
) -> None:
    fake.scopes = ["read", "write"]
    refusal = error(403, "INSUFFICIENT_SCOPE", "insufficient scope", details)
    for path in (
        "/service/service-accounts",
        "/service/audit-events",
        f"/service/service-accounts/{ACCOUNT}/disable",
    ):
        fake.script("GET", path, refusal)
        fake.script("POST", path, refusal)
    with pytest.raises(ScopeError) as info:
        call(make_client())
    assert info.value.message == message


def test_scope_error_before_any_login_knows_no_scopes(
    fake: FakeApi, make_client: MakeClient
) -> None:
    fake.script("POST", "/service-account/auth", error(403, "INSUFFICIENT_SCOPE", "no"))
    with pytest.raises(ScopeError) as info:
        make_client().verify()
    assert (
        info.value.message
        == "logging in needs scope a scope this account lacks; this account has no scopes"
    )


@pytest.mark.parametrize(
    ("method", "path", "call", "feature"),
    [
        (
            "GET",
            "/service/service-accounts",
            lambda c: c.list_service_accounts(),
            "service account management",
        ),
        (
            "GET",
            f"/service/service-accounts/{ACCOUNT}",
            lambda c: c.get_service_account(ACCOUNT),
            "service account management",
        ),
        ("GET", "/service/audit-events", lambda c: c.audit_events(), "the audit log"),
        ("DELETE", "/service/policies/1", lambda c: c.delete_policy(1), "deleting policies"),
        (
            "POST",
            "/service/certificates",
            lambda c: c.request_certificate({"common_name": "a"}),
            "certificate requests",
        ),
    ],
    ids=["service-accounts", "service-account", "audit", "delete-policy", "certificates"],
)
def test_a_plain_404_on_an_extension_says_the_feature_is_missing(
    fake: FakeApi,
    make_client: MakeClient,
    method: str,
    path: str,
    call: Callable[[ClmClient], object],
    feature: str,
) -> None:
    fake.script(method, path, httpx.Response(404, json={"detail": "Not Found"}))
    with pytest.raises(ExtensionMissingError) as info:
        call(make_client())
    assert (info.value.exit_code, info.value.message) == (
        1,
        f"the server at http://clm.test does not offer {feature} ({method} /api/v1{path} "
        "answered 404); it is an [extension] of the CLM API, served by `certgov server`",
    )


def test_a_not_found_envelope_on_an_extension_collection_means_missing_feature(
    fake: FakeApi, make_client: MakeClient
) -> None:
    fake.script("GET", "/service/service-accounts", error(404, "NOT_FOUND", "no route"))
    with pytest.raises(ExtensionMissingError):
        make_client().list_service_accounts()


def test_a_405_on_delete_policy_means_missing_feature(
    fake: FakeApi, make_client: MakeClient
) -> None:
    fake.script(
        "DELETE", "/service/policies/1", httpx.Response(405, json={"detail": "Method Not Allowed"})
    )
    with pytest.raises(ExtensionMissingError) as info:
        make_client().delete_policy(1)
    assert info.value.message == (
        "the server at http://clm.test does not offer deleting policies (DELETE "
        "/api/v1/service/policies/1 answered 405); it is an [extension] of the CLM API, served "
        "by `certgov server`"
    )


def test_a_not_found_envelope_on_an_extension_object_means_the_object_is_missing(
    fake: FakeApi, make_client: MakeClient
) -> None:
    with pytest.raises(NotFoundError) as info:
        make_client().get_service_account(ACCOUNT)
    assert info.value.message == (
        f"reading service account {ACCOUNT} failed: no such object on the server at http://clm.test"
    )


def test_a_not_found_envelope_on_validate_is_a_missing_policy(
    fake: FakeApi, make_client: MakeClient
) -> None:
    fake.script("POST", "/service/policies/validate", error(404, "NOT_FOUND", "policy 9 not found"))
    with pytest.raises(NotFoundError):
        make_client().validate({"action": "certificate.generate"}, policy_id=9)


def test_a_plain_404_on_a_documented_path_points_at_the_url(
    fake: FakeApi, make_client: MakeClient
) -> None:
    fake.script("GET", "/service/policies", httpx.Response(404, text="nothing here"))
    with pytest.raises(ApiError) as info:
        make_client().list_policies()
    assert (type(info.value), info.value.message) == (
        ApiError,
        "the server at http://clm.test does not serve policies (GET /api/v1/service/policies "
        "answered 404), which every CLM API offers: check --url or CERTGOV_URL",
    )


def test_a_blocked_certificate_request_lists_the_violations(
    fake: FakeApi, make_client: MakeClient
) -> None:
    violations = [
        {
            "policy": "Baseline",
            "rule": "enforce_minimum_key_size",
            "fail": "hard",
            "message": "RSA key 2048 bits is below the minimum of 3072",
        },
        {"policy": "Baseline", "rule": "disable_wildcard", "message": "wildcard"},
    ]
    fake.script(
        "POST", "/service/certificates", error(422, "POLICY_VIOLATION", "blocked", violations)
    )
    with pytest.raises(PolicyViolationError) as info:
        make_client().request_certificate({"common_name": "*.example.com"})
    assert (info.value.message, info.value.details) == (
        "requesting a certificate for '*.example.com' blocked by policy: blocked: Baseline: "
        "enforce_minimum_key_size (hard): RSA key 2048 bits is below the minimum of 3072; "
        "Baseline: disable_wildcard: wildcard",
        violations,
    )


def test_a_validation_error_with_a_details_object_names_it(
    fake: FakeApi, make_client: MakeClient
) -> None:
    fake.script(
        "POST",
        "/service/policies",
        error(422, "VALIDATION_ERROR", "bad", {"message": "body is not JSON"}),
    )
    with pytest.raises(InvalidRequestError) as info:
        make_client().create_policy({"name": "x"})
    assert info.value.message == "creating policy 'x' failed: bad: body is not JSON"


def test_a_success_answer_that_is_not_json_is_a_bad_answer(
    fake: FakeApi, make_client: MakeClient
) -> None:
    fake.script(
        "GET",
        "/service/policies/1",
        httpx.Response(200, text="<html>", headers={"Content-Type": "text/html"}),
    )
    with pytest.raises(ApiError) as info:
        make_client().get_policy(1)
    assert (info.value.code, info.value.message) == (
        "BAD_ANSWER",
        "reading policy 1: the server at http://clm.test sent an answer that is not the CLM "
        "API's (status 200, text/html)",
    )


def test_a_json_array_answer_is_a_bad_answer(fake: FakeApi, make_client: MakeClient) -> None:
    fake.script("GET", "/service/policies/1", httpx.Response(200, json=[1]))
    with pytest.raises(ApiError, match=r"^reading policy 1: the server at"):
        make_client().get_policy(1)


def test_the_secret_never_appears_in_errors_or_logs(
    fake: FakeApi, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    answers = [
        error(401, "INVALID_CREDENTIALS", "invalid"),
        error(422, "VALIDATION_ERROR", "bad body", [{"field": "client_secret", "message": "bad"}]),
        httpx.Response(500, text="boom"),
    ]
    for answer in answers:
        fake.script("POST", "/service-account/auth", answer)
        client = make_client()
        with pytest.raises(CertgovError) as info:
            client.verify()
        texts += [str(info.value), repr(info.value), info.value.message, repr(client.credentials)]
    fake.script(
        "POST",
        "/service-account/auth",
        httpx.ReadError("reset"),
        httpx.ReadError("reset"),
        httpx.ReadError("reset"),
        httpx.ReadError("reset"),
    )
    with pytest.raises(CertgovError) as lost:
        make_client().verify()
    texts += [str(lost.value), str(lost.value.__cause__), caplog.text]
    assert [t for t in texts if SECRET in t] == []


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/service/policies", Route("reading policies", "policies", "read", False, True)),
        (
            "DELETE",
            "/service/policies/7",
            Route("deleting policies", "deleting policies", "write", True, False),
        ),
        (
            "POST",
            "/service/policies/validate",
            Route("validating policies", "policy validation", "read", False, False),
        ),
        (
            "GET",
            "/service/certificates/ca.pem",
            Route("reading the CA certificate", "certificate requests", None, True, True),
        ),
        (
            "PATCH",
            "/service/policies/7",
            Route("PATCH /service/policies/7", "/service/policies/7", None, False, False),
        ),
    ],
    ids=["list", "delete-extension", "validate", "ca-pem", "unknown"],
)
def test_routes_describe_the_contract(method: str, path: str, expected: Route) -> None:
    assert route_for(method, path) == expected


def test_an_envelope_with_odd_details_keeps_none(fake: FakeApi, make_client: MakeClient) -> None:
    body = {"success": False, "error": {"code": "CONFLICT", "message": "dup", "details": "text"}}
    fake.script("POST", "/service/policies", httpx.Response(409, json=body))
    with pytest.raises(ConflictError) as info:
        make_client().create_policy({"name": "x"})
    assert (info.value.details, info.value.message) == (
        None,
        "creating policy 'x' failed: conflict: dup",
    )
