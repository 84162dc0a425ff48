"""Contract §5.2: the audit log, newest first (scope admin). No route changes an event."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from certgov.server import auth
from certgov.server.auth import Principal
from certgov.server.context import iso, server_of
from certgov.server.models import AuditList
from certgov.server.routes.common import AUTHENTICATED, Paging, error_responses, listed, paging
from certgov.server.store import AuditFilter

router = APIRouter(tags=["audit"])


@router.get(
    "/service/audit-events", response_model=AuditList, responses=error_responses(*AUTHENTICATED)
)
def list_events(
    request: Request,
    principal: Annotated[Principal, Depends(auth.requires("admin"))],
    page: Annotated[Paging, Depends(paging)],
    type: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[AwareDatetime | None, Query(description="inclusive")] = None,
    until: Annotated[AwareDatetime | None, Query(description="inclusive")] = None,
    service_account: Annotated[
        str | None, Query(max_length=64, description="the actor or the target")
    ] = None,
    policy_id: Annotated[int | None, Query(description="the target policy")] = None,
    outcome: Literal["success", "failure"] | None = None,
) -> JSONResponse:
    flt = AuditFilter(
        type=type,
        since=None if since is None else iso(since),
        until=None if until is None else iso(until),
        service_account=service_account,
        policy_id=None if policy_id is None else str(policy_id),
        outcome=outcome,
    )
    with server_of(request).store.reading() as tx:
        events, total = tx.audit.page(flt, page.offset, page.per_page)
    return listed(events, page, total)
