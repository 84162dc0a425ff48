"""Stateful fuzzing of the reference server: schemathesis chains calls through OpenAPI links
(create an account or a policy, then get, replace, enable, disable, regenerate, delete it by
the id the create answered), with an admin token; no step answers a 5xx or breaks its documented
response. The links are added here to the server's own /openapi.json."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.hardening.figures_record import record
from tests.hardening.test_schemathesis import CHECKS, OPENAPI, login
from tests.integration.conftest import LiveServer, start_server

STEPS = int(os.environ.get("CERTGOV_FUZZ_EXAMPLES", "6"))
ACCOUNTS = "/api/v1/service/service-accounts"
POLICIES = "/api/v1/service/policies"


def linked(document: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with links from each create to the calls on the created object."""
    out = copy.deepcopy(document)
    paths = out["paths"]
    for collection, param, pointer in (
        (ACCOUNTS, "uuid", "$response.body#/data/uuid"),
        (POLICIES, "policy_id", "$response.body#/data/id"),
    ):
        links = {}
        for path, operations in paths.items():
            if not path.startswith(f"{collection}/{{{param}}}"):
                continue
            for method, operation in operations.items():
                name = f"{method}_{path.rsplit('/', 1)[-1]}".replace("{", "").replace("}", "")
                links[name] = {
                    "operationId": operation["operationId"],
                    "parameters": {param: pointer},
                }
        paths[collection]["post"]["responses"]["201"]["links"] = links
    return out


schema = schemathesis.openapi.from_dict(linked(OPENAPI))


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("stateful-fuzz")
    yield from start_server(f"sqlite:///{folder / 'server.db'}", folder)


def test_linked_call_sequences_never_break_the_contract(live: LiveServer) -> None:
    import httpx

    with httpx.Client(base_url=live.url) as http:
        token = login(http, live)

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"base_url": live.url, "headers": {"Authorization": f"Bearer {token}"}}

        def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
            record("schemathesis stateful steps", 1)
            case.validate_response(response, checks=CHECKS)

        def before_call(self, case: schemathesis.Case) -> None:
            # Revoking would end the token every step shares; regenerating with revoke_sessions
            # would end other accounts' sessions only, which is fine.
            if case.path.endswith("/auth/revoke"):
                case.path = "/api/v1/service-account/auth/verify"
                case.method = "GET"

    Workflow.run(
        settings=settings(
            max_examples=STEPS,
            stateful_step_count=8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
    )
