"""Contract §4: the policy API and the dry run."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from certgov.server import auth, evaluation, policies
from certgov.server.auth import Principal
from certgov.server.context import server_of
from certgov.server.idempotency import Answer, run_idempotent
from certgov.server.models import Ok, PolicyIn, PolicyList, PolicyOut, ValidateIn, ValidateOut
from certgov.server.routes.body import documented_body, json_body
from certgov.server.routes.common import (
    AUTHENTICATED,
    Paging,
    error_responses,
    listed,
    paging,
    rate_limited,
)
from certgov.server.store import Policy, Tx

router = APIRouter(prefix="/service/policies", tags=["policies"])
Reader = Annotated[Principal, Depends(auth.requires("read"))]
Writer = Annotated[Principal, Depends(auth.requires("write"))]
Body = Annotated[Any, Depends(json_body)]
IfMatch = Annotated[str | None, Header(alias="If-Match", description="an ETag from a read")]
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", description="replays the first answer for 24 h")
]
WRITE_ERRORS = error_responses(*AUTHENTICATED, 404, 409, 412, 503)


def _single(response: Response, policy: Policy) -> dict[str, Any]:
    response.headers["ETag"] = policies.policy_etag(policy)
    return {"success": True, "data": policies.public(policy)}


@router.get(
    "",
    response_model=PolicyList,
    response_model_exclude_unset=True,
    responses=error_responses(*AUTHENTICATED),
)
def list_policies(
    request: Request,
    principal: Reader,
    page: Annotated[Paging, Depends(paging)],
    enabled: Annotated[bool | None, Query(description="only enabled, or only disabled")] = None,
) -> JSONResponse:
    with server_of(request).store.reading() as tx:
        items, total = tx.policies.page(page.offset, page.per_page, enabled)
    return listed([policies.list_item(p) for p in items], page, total)


@router.post(
    "",
    status_code=201,
    response_model=PolicyOut,
    response_model_exclude_unset=True,
    responses=error_responses(*AUTHENTICATED, 409, 503),
    openapi_extra=documented_body(PolicyIn),
)
def create_policy(
    body: Body, request: Request, principal: Writer, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    server = server_of(request)

    def create(tx: Tx) -> Answer:
        policy = policies.create(tx, principal.actor, body, server.now())
        return policies.single_answer(policy, 201)

    identity = {"path": request.url.path, "body": body}
    return run_idempotent(server, principal.uuid, idempotency_key, identity, create).response()


@router.post(
    "/validate",
    response_model=ValidateOut,
    responses=error_responses(*AUTHENTICATED, 404, 429, 503),
    openapi_extra=documented_body(ValidateIn),
    dependencies=[rate_limited("validate")],
    summary="Dry run: evaluate a request against the enabled, one named, or an inline policy",
)
def validate(body: Body, request: Request, principal: Reader) -> dict[str, Any]:
    server = server_of(request)
    with server.store.transaction() as tx:
        return evaluation.dry_run(tx, principal.actor, body, server.now(), server.enabled)


@router.get(
    "/{policy_id}",
    response_model=PolicyOut,
    response_model_exclude_unset=True,
    responses=error_responses(*AUTHENTICATED, 404),
)
def get_policy(
    policy_id: int, request: Request, response: Response, principal: Reader
) -> dict[str, Any]:
    with server_of(request).store.reading() as tx:
        policy = policies.get(tx, policy_id)
    return _single(response, policy)


@router.put(
    "/{policy_id}",
    response_model=PolicyOut,
    response_model_exclude_unset=True,
    responses=WRITE_ERRORS,
    openapi_extra=documented_body(PolicyIn),
)
def replace_policy(
    policy_id: int,
    body: Body,
    request: Request,
    response: Response,
    principal: Writer,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    server = server_of(request)
    with server.store.transaction() as tx:
        policy = policies.replace(tx, principal.actor, policy_id, body, server.now(), if_match)
    return _single(response, policy)


@router.post(
    "/{policy_id}/enable",
    response_model=PolicyOut,
    response_model_exclude_unset=True,
    responses=WRITE_ERRORS,
)
def enable_policy(
    policy_id: int,
    request: Request,
    response: Response,
    principal: Writer,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    server = server_of(request)
    with server.store.transaction() as tx:
        policy = policies.set_enabled(tx, principal.actor, policy_id, True, server.now(), if_match)
    return _single(response, policy)


@router.post(
    "/{policy_id}/disable",
    response_model=PolicyOut,
    response_model_exclude_unset=True,
    responses=WRITE_ERRORS,
)
def disable_policy(
    policy_id: int,
    request: Request,
    response: Response,
    principal: Writer,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    server = server_of(request)
    with server.store.transaction() as tx:
        policy = policies.set_enabled(tx, principal.actor, policy_id, False, server.now(), if_match)
    return _single(response, policy)


@router.delete("/{policy_id}", response_model=Ok, responses=WRITE_ERRORS)
def delete_policy(
    policy_id: int, request: Request, principal: Writer, if_match: IfMatch = None
) -> dict[str, Any]:
    server = server_of(request)
    with server.store.transaction() as tx:
        policies.delete(tx, principal.actor, policy_id, server.now(), if_match)
    return {"success": True}
