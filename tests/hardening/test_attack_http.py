"""Attacks on the HTTP surface (issue 21, points 5, 8 and 9), each reproduced as it was found:
redirects that reflect the Host header, bodies and page numbers that answered 500, and a rate
limit that ran after authentication in a bucket shared by login and validate."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.server.conftest import Harness

LOGIN = "/service-account/auth"
API = "/api/v1"


def envelope(status: int, code: str, message: str, details: Any = None) -> tuple[int, dict[str, Any]]:
    error = {"code": code, "message": message, "details": [] if details is None else details}
    return status, {"success": False, "error": error}


def operations(hs: Harness) -> Iterator[tuple[str, str]]:
    """(method, path) of every operation of the server's own OpenAPI document, path ids filled
    in with ids that exist (policy 1, the admin account)."""
    document = hs.app.openapi()
    for path, item in sorted(document["paths"].items()):
        for method in sorted(item):
            filled = path.replace("{policy_id}", "1").replace(
                "{uuid}", hs.admin_credentials["uuid"]
            )
            yield method.upper(), filled


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
        for method, path in operations(hs)
    }
    assert answers == {operation: 404 for operation in answers}
