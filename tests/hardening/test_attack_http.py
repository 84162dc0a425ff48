"""Attacks on the HTTP surface (issue 21, points 5, 8 and 9), each reproduced as it was found:
redirects that reflect the Host header, bodies and page numbers that answered 500, and a rate
limit that ran after authentication in a bucket shared by login and validate."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from tests.server.conftest import Harness
from tests.server.test_policies import REQUEST

LOGIN = "/service-account/auth"
NO_SUCH_UUID = "00000000-0000-4000-8000-000000000000"
HUGE_PAGE = 922337203685477581  # times 25 per page is past 2**63: the offset overflowed
NESTED = b"[" * 1000
TOO_DEEP = [{"field": "body", "message": "malformed JSON: nested too deeply to be read"}]


def envelope(
    status: int, code: str, message: str, details: Any = None
) -> tuple[int, dict[str, Any]]:
    error = {"code": code, "message": message, "details": [] if details is None else details}
    return status, {"success": False, "error": error}


def operations(hs: Harness) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of every operation of the server's own OpenAPI document, with
    ids that no object has in the paths (so that nothing is deleted or changed)."""
    document = hs.app.openapi()
    for path, item in sorted(document["paths"].items()):
        for method, operation in sorted(item.items()):
            filled = path.replace("{policy_id}", "999").replace("{uuid}", NO_SUCH_UUID)
            yield method.upper(), filled, operation


class Caller:
    """Calls as the admin; revoke gets a session of its own each time, so that the admin's
    session outlives the walk over every operation."""

    def __init__(self, hs: Harness) -> None:
        self.hs = hs
        self.admin = hs.as_admin()

    def __call__(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        client = self.hs.as_admin() if path.endswith("/revoke") else self.admin
        response = client.request(method, f"http://testserver{path}", **kwargs)
        is_json = response.headers.get("content-type") == "application/json"
        return response.status_code, response.json() if is_json else response.text


# -- point 9: no redirects ---------------------------------------------------------------------


def test_a_trailing_slash_is_not_found_and_never_redirects_to_the_host_header(hs: Harness) -> None:
    response = hs.client().post(
        f"{LOGIN}/",
        json={"uuid": "x", "client_id": "y", "client_secret": "z"},
        headers={"Host": "evil.example"},
    )
    assert (response.status_code, response.headers.get("location"), response.json()) == (
        404,
        None,
        envelope(404, "NOT_FOUND", "Not Found")[1],
    )


def test_no_operation_redirects_with_a_trailing_slash(hs: Harness) -> None:
    client = hs.as_admin()
    answers = {
        (method, path): client.request(method, f"http://evil.example{path}/").status_code
        for method, path, _ in operations(hs)
        if not path.endswith("/revoke")
    }
    revoke = hs.as_admin().post("http://evil.example/api/v1/service-account/auth/revoke/")
    answers[("POST", "/api/v1/service-account/auth/revoke")] = revoke.status_code
    assert answers == {operation: 404 for operation in answers}


# -- point 5: nothing answers 500 --------------------------------------------------------------


def test_a_body_nested_a_thousand_deep_is_a_validation_error_on_every_operation(
    hs: Harness,
) -> None:
    call = Caller(hs)
    answers, expected = {}, {}
    json_type = {"Content-Type": "application/json"}
    for method, path, operation in operations(hs):
        answers[(method, path)] = call(method, path, content=NESTED, headers=json_type)
        if "requestBody" in operation:
            expected[(method, path)] = envelope(
                422, "VALIDATION_ERROR", "the request is invalid", TOO_DEEP
            )
        else:  # the body is not read: the answer is the one without it
            expected[(method, path)] = call(method, path)
    assert answers == expected


def test_a_balanced_body_nested_below_the_decoders_limit_is_refused_too(hs: Harness) -> None:
    # Parsed by json.loads, then too deep for what reads it next (the Idempotency-Key digest,
    # the audit log): the depth is refused when the body is read.
    admin = hs.as_admin()
    nested = b'{"name": ' + b"[" * 980 + b"]" * 980 + b"}"
    headers = {"Content-Type": "application/json", "Idempotency-Key": "k"}
    for path in ("/service/policies", "/service/policies/validate", "/service/certificates"):
        response = admin.post(path, content=nested, headers=headers)
        assert (response.status_code, response.json()) == envelope(
            422, "VALIDATION_ERROR", "the request is invalid", TOO_DEEP
        ), path


def test_a_page_past_2_to_the_63_is_empty_on_every_list(h: Harness) -> None:
    call = Caller(h)
    answers, expected = {}, {}
    for method, path, operation in operations(h):
        answers[(method, path)] = call(method, path, params={"page": HUGE_PAGE})
        status, body = call(method, path)
        if any(p["name"] == "page" for p in operation.get("parameters", [])):
            total = body["meta"]["total"]
            meta = {
                "page": HUGE_PAGE,
                "per_page": 25,
                "total": total,
                "total_pages": -(-total // 25),
            }
            body = {"success": True, "data": [], "meta": meta}
        expected[(method, path)] = (status, body)
    assert answers == expected


# -- point 8: the rate limit comes first, one bucket per route family --------------------------

VALIDATE = "/service/policies/validate"
SLOW_DOWN = envelope(429, "TOO_MANY_REQUESTS", "too many requests; slow down")


def test_an_unauthenticated_flood_of_validate_is_rate_limited(
    sqlite_url: str, harness_factory: Callable[..., Harness]
) -> None:
    h = harness_factory(sqlite_url, rate_limit=1)  # a burst of 2
    stranger = h.client("192.0.2.7")
    answers = [stranger.post(VALIDATE, json={"request": REQUEST}) for _ in range(3)]
    invalid_session = envelope(
        401, "INVALID_SESSION", "the session token is missing, unknown or revoked"
    )
    assert [(r.status_code, r.json()) for r in answers] == [invalid_session] * 2 + [SLOW_DOWN]


def test_login_and_validate_have_a_bucket_each(
    sqlite_url: str, harness_factory: Callable[..., Harness]
) -> None:
    h = harness_factory(sqlite_url, rate_limit=1)  # a burst of 2
    client = h.client("192.0.2.8")
    logins = [client.post(LOGIN, json=h.admin_credentials) for _ in range(3)]
    reader = h.client("192.0.2.8", token=logins[0].json()["session"]["token"])
    validations = [reader.post(VALIDATE, json={"request": REQUEST}) for _ in range(3)]
    assert [r.status_code for r in logins + validations] == [200, 200, 429, 200, 200, 429]
