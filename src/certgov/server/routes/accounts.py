"""Contract §5.1: the service-account API (scope admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from certgov.server import accounts, auth
from certgov.server.auth import Principal
from certgov.server.context import server_of
from certgov.server.idempotency import Answer, run_idempotent
from certgov.server.models import (
    AccountIn,
    AccountList,
    AccountOut,
    AccountWithCredentials,
    Ok,
)
from certgov.server.routes.common import (
    AUTHENTICATED,
    NO_STORE,
    Paging,
    error_responses,
    listed,
    paging,
)
from certgov.server.store import Account, Tx

router = APIRouter(prefix="/service/service-accounts", tags=["service accounts"])
Admin = Annotated[Principal, Depends(auth.requires("admin"))]
IfMatch = Annotated[str | None, Header(alias="If-Match", description="an ETag from a read")]
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", description="replays the first answer for 24 h")
]
WRITE_ERRORS = error_responses(*AUTHENTICATED, 404, 409, 412, 503)


def _single(response: Response, account: Account) -> dict[str, Any]:
    response.headers["ETag"] = accounts.account_etag(account)
    return {"success": True, "data": accounts.public(account)}


@router.get("", response_model=AccountList, responses=error_responses(*AUTHENTICATED))
def list_accounts(
    request: Request, principal: Admin, page: Annotated[Paging, Depends(paging)]
) -> JSONResponse:
    with server_of(request).store.reading() as tx:
        items, total = tx.accounts.page(page.offset, page.per_page)
    return listed([accounts.list_item(a) for a in items], page, total)


@router.post(
    "",
    status_code=201,
    response_model=AccountWithCredentials,
    responses=error_responses(*AUTHENTICATED, 409, 503),
)
def create_account(
    body: AccountIn, request: Request, principal: Admin, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    server = server_of(request)

    def create(tx: Tx) -> Answer:
        account, secret = accounts.create(tx, principal.actor, body, server.now())
        return accounts.created_answer(account, secret)

    identity = {"path": request.url.path, "body": body.model_dump(mode="json")}
    answer = run_idempotent(server, principal.uuid, idempotency_key, identity, create)
    response = answer.response()
    response.headers.update(NO_STORE)
    return response


@router.get("/{uuid}", response_model=AccountOut, responses=error_responses(*AUTHENTICATED, 404))
def get_account(
    uuid: str, request: Request, response: Response, principal: Admin
) -> dict[str, Any]:
    with server_of(request).store.reading() as tx:
        account = accounts.get(tx, uuid)
    return _single(response, account)


@router.put("/{uuid}", response_model=AccountOut, responses=WRITE_ERRORS)
def replace_account(
    uuid: str,
    body: AccountIn,
    request: Request,
    response: Response,
    principal: Admin,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    server = server_of(request)
    with server.store.transaction() as tx:
        account = accounts.replace(tx, principal.actor, uuid, body, server.now(), if_match)
    return _single(response, account)


@router.post("/{uuid}/enable", response_model=AccountOut, responses=WRITE_ERRORS)
def enable_account(
    uuid: str, request: Request, response: Response, principal: Admin, if_match: IfMatch = None
) -> dict[str, Any]:
    server = server_of(request)
    with server.store.transaction() as tx:
        account = accounts.set_active(tx, principal.actor, uuid, True, server.now(), if_match)
    return _single(response, account)


@router.post("/{uuid}/disable", response_model=AccountOut, responses=WRITE_ERRORS)
def disable_account(
    uuid: str, request: Request, response: Response, principal: Admin, if_match: IfMatch = None
) -> dict[str, Any]:
    server = server_of(request)
    with server.store.transaction() as tx:
        account = accounts.set_active(tx, principal.actor, uuid, False, server.now(), if_match)
    return _single(response, account)


@router.post(
    "/{uuid}/regenerate-secret", response_model=AccountWithCredentials, responses=WRITE_ERRORS
)
def regenerate_secret(
    uuid: str,
    request: Request,
    response: Response,
    principal: Admin,
    revoke_sessions: Annotated[bool, Query(description="also revoke its live sessions")] = False,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    server = server_of(request)
    with server.store.transaction() as tx:
        account, secret = accounts.regenerate_secret(
            tx, principal.actor, uuid, revoke_sessions, server.now(), if_match
        )
    response.headers.update(NO_STORE)
    response.headers["ETag"] = accounts.account_etag(account)
    return {
        "success": True,
        "data": accounts.public(account),
        "credentials": {"client_id": account["client_id"], "client_secret": secret},
        "replayed": False,
    }


@router.delete("/{uuid}", response_model=Ok, responses=WRITE_ERRORS)
def delete_account(
    uuid: str, request: Request, principal: Admin, if_match: IfMatch = None
) -> dict[str, Any]:
    server = server_of(request)
    with server.store.transaction() as tx:
        accounts.delete(tx, principal.actor, uuid, server.now(), if_match)
    return {"success": True}
