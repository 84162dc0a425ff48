"""Contract §5.3: certificate requests, and the local CA's certificate."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, Response

from certgov.server import auth, evaluation
from certgov.server.auth import Principal
from certgov.server.context import server_of
from certgov.server.idempotency import Answer, run_idempotent
from certgov.server.models import CertificateOut, CertificateRequest
from certgov.server.routes.body import documented_body, json_body
from certgov.server.routes.common import AUTHENTICATED, error_responses
from certgov.server.store import Tx

router = APIRouter(prefix="/service", tags=["certificates"])


@router.post(
    "/certificates",
    status_code=201,
    response_model=CertificateOut,
    responses=error_responses(*AUTHENTICATED, 409, 503),
    openapi_extra=documented_body(CertificateRequest),
    summary="Request a certificate: 422 POLICY_VIOLATION when the enabled policies block it",
)
def request_certificate(
    body: Annotated[Any, Depends(json_body)],
    request: Request,
    principal: Annotated[Principal, Depends(auth.requires("write"))],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    server = server_of(request)

    def create(tx: Tx) -> Answer:
        return evaluation.request_certificate(
            tx, principal.actor, body, server.now(), server.ca, server.enabled
        )

    identity = {"path": request.url.path, "body": body}
    return run_idempotent(server, principal.uuid, idempotency_key, identity, create).response()


@router.get(
    "/ca.pem",
    response_class=Response,
    responses={200: {"content": {"application/x-pem-file": {"schema": {"type": "string"}}}}},
    summary="The local CA's certificate (public; no session needed)",
)
def ca_certificate(request: Request) -> Response:
    return Response(server_of(request).ca.pem, media_type="application/x-pem-file")
