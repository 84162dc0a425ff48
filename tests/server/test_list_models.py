"""List answers skip FastAPI's re-validation (routes.common.listed), so each is held here to what
that validation would have sent: the route's documented model, dumped with the route's own
settings, gives back the very same JSON, no field more or less, on both databases."""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute

from certgov.server.routes import accounts, audit, policies
from tests.server.conftest import Harness
from tests.server.test_policies import BODY, POLICIES

LISTS = {
    "/service/service-accounts": accounts.router,
    POLICIES: policies.router,
    "/service/audit-events": audit.router,
}


def _as_validated(path: str, body: dict[str, Any]) -> Any:
    route = next(
        r
        for r in LISTS[path].routes
        if isinstance(r, APIRoute) and r.path == path and "GET" in r.methods
    )
    model = route.response_model
    return model.model_validate(body).model_dump(
        mode="json",
        exclude_unset=route.response_model_exclude_unset,
        exclude_none=route.response_model_exclude_none,
    )


def test_every_list_answer_is_exactly_its_documented_model(h: Harness) -> None:
    admin = h.as_admin()
    h.new_account(admin, "ci", ["read", "write"])
    for name in ("p1", "p2"):
        created = admin.post(POLICIES, json={**BODY, "name": name})
        assert created.status_code == 201, created.text
    for path in LISTS:
        body = admin.get(path).json()
        assert len(body["data"]) >= 2, path
        assert _as_validated(path, body) == body, path
