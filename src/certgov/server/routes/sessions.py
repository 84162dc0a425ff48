"""Contract §3: login, verify, revoke."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from certgov.server import auth
from certgov.server.auth import Principal
from certgov.server.context import client_ip, server_of
from certgov.server.models import LoginIn, LoginOut, Ok, VerifyOut
from certgov.server.routes.common import AUTHENTICATED, NO_STORE, error_responses, rate_limited

router = APIRouter(tags=["sessions"])
AnyScope = Annotated[Principal, Depends(auth.requires("read"))]


@router.post(
    "/service-account/auth",
    response_model=LoginOut,
    responses=error_responses(401, 413, 429, 503),
    dependencies=[rate_limited("login")],
    summary="Log in with uuid, client_id and client_secret",
)
def login(body: LoginIn, request: Request, response: Response) -> dict[str, Any]:
    response.headers.update(NO_STORE)
    return auth.login(server_of(request), body, client_ip(request))


@router.get(
    "/service-account/auth/verify",
    response_model=VerifyOut,
    responses=error_responses(*AUTHENTICATED),
    summary="Check the bearer token",
)
def verify(request: Request, principal: AnyScope) -> dict[str, Any]:
    return {
        "success": True,
        "valid": True,
        "service_account": auth.summary(principal.account),
        "session": auth.session_info(server_of(request), principal),
    }


@router.post(
    "/service-account/auth/revoke",
    response_model=Ok,
    responses=error_responses(*AUTHENTICATED, 503),
    summary="Revoke the bearer token used for this call",
)
def revoke(request: Request, principal: AnyScope) -> dict[str, Any]:
    auth.revoke(server_of(request), principal)
    return {"success": True}
