"""Property-based fuzzing of the reference server from its own /openapi.json (schemathesis,
in-process against the ASGI app, offline): with an admin token, no operation answers a 5xx or
breaks its documented response schema; without a token, every operation but login and the
health check answers 401 in the contract's envelope.

Example counts are small by default (6 per operation); CERTGOV_FUZZ_EXAMPLES=200 raises them."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from tests.hardening.figures_record import record
from tests.integration.conftest import LiveServer, start_server

EXAMPLES = int(os.environ.get("CERTGOV_FUZZ_EXAMPLES", "6"))
# Login, the health check and the local CA's public certificate need no session.
OPEN = {
    ("POST", "/api/v1/service-account/auth"),
    ("GET", "/healthz"),
    ("GET", "/api/v1/service/ca.pem"),
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The server on a loopback port (uvicorn in a thread), its own SQLite file."""
    folder = tmp_path_factory.mktemp("fuzz")
    yield from start_server(f"sqlite:///{folder / 'server.db'}", folder)


@pytest.fixture(scope="module")
def http(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url) as client:
        yield client


def login(http: httpx.Client, live: LiveServer) -> str:
    answer = http.post(
        "/api/v1/service-account/auth",
        content=live.admin.read_bytes(),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["session"]["token"]
    return token


@pytest.fixture(scope="module")
def token(http: httpx.Client, live: LiveServer) -> str:
    return login(http, live)


def openapi_document() -> dict[str, Any]:
    """The server's own /openapi.json, read from an app over a throwaway database."""
    from certgov.server import Settings, create_app

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(Settings(database_url=f"sqlite:///{folder}/openapi.db"))
        try:
            document: dict[str, Any] = app.openapi()
        finally:
            app.state.server.store.close()
    return document


OPENAPI = openapi_document()
schema = schemathesis.openapi.from_dict(OPENAPI)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_no_server_error_and_no_schema_violation(
    case: schemathesis.Case, http: httpx.Client, live: LiveServer, token: str
) -> None:
    # Revoking ends the token it is called with: give it one of its own.
    bearer = login(http, live) if case.path.endswith("/auth/revoke") else token
    record("schemathesis examples", 1)
    response = case.call(base_url=live.url, headers={"Authorization": f"Bearer {bearer}"})
    case.validate_response(response, checks=CHECKS)


CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]
SQLITE_MAX = 2**63 - 1


@pytest.mark.parametrize("suffix", ["", "/enable", "/disable"])
def test_a_policy_id_past_64_bits_is_not_found(http: httpx.Client, token: str, suffix: str) -> None:
    method = "POST" if suffix else "GET"
    answer = http.request(
        method,
        f"/api/v1/service/policies/{SQLITE_MAX + 1}{suffix}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "NOT_FOUND")


def test_a_body_that_is_not_utf8_is_a_validation_error(http: httpx.Client) -> None:
    answer = http.post(
        "/api/v1/service-account/auth",
        content=b'{"uuid": "\xff"}',
        headers={"Content-Type": "application/json"},
    )
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, "VALIDATION_ERROR")


def operations() -> list[tuple[str, str]]:
    paths: dict[str, dict[str, Any]] = OPENAPI["paths"]
    return sorted(
        (method.upper(), path)
        for path, methods in paths.items()
        for method in methods
        if method in ("get", "post", "put", "delete", "patch")
    )


def test_schema_has_operations() -> None:
    record("schemathesis operations", len(operations()))
    assert len(operations()) >= 20


@pytest.mark.parametrize(("method", "path"), [op for op in operations() if op not in OPEN])
def test_no_operation_works_without_a_token(http: httpx.Client, method: str, path: str) -> None:
    concrete = path.replace("{uuid}", "00000000-0000-4000-8000-000000000000").replace(
        "{policy_id}", "1"
    )
    answer = http.request(method, concrete, json={})
    assert (answer.status_code, answer.json()["error"]["code"]) == (401, "INVALID_SESSION")


def test_a_rule_action_that_is_an_object_is_a_validation_error(
    http: httpx.Client, token: str
) -> None:
    policy = {
        "name": "odd",
        "matching_criteria": {"action": "certificate.generate", "domains": ["example.com"]},
        "rules": [{"action": {}, "fail": "hard"}],
    }
    answer = http.post(
        "/api/v1/service/policies", json=policy, headers={"Authorization": f"Bearer {token}"}
    )
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, "VALIDATION_ERROR")
