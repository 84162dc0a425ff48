"""The app factory: `create_app(settings)` builds everything; nothing exists at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from certgov.server import errors
from certgov.server.auditkey import keyed_store
from certgov.server.ca import load_or_create
from certgov.server.context import Server
from certgov.server.enabled import EnabledPolicies
from certgov.server.middleware import AccessLog, BodyLimit
from certgov.server.models import CertificateRequest, Health, PolicyIn, ValidateIn
from certgov.server.ratelimit import RateLimiter
from certgov.server.routes import accounts, audit, certificates, policies, sessions
from certgov.server.settings import Settings
from certgov.version import __version__

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    """A ready app over the settings' database (schema created or kept)."""
    settings = settings or Settings()
    store = keyed_store(settings.database_url, settings.audit_key_path)
    ca = load_or_create(store, settings.now())
    limiter = RateLimiter(settings.rate_limit, settings.clock)
    server = Server(settings, store, limiter, ca, EnabledPolicies())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            store.close()

    app = FastAPI(
        title="certgov reference CLM server",
        version=__version__,
        summary="Serves the CLM Service API contract (docs/api.md) for certgov.",
        lifespan=lifespan,
        # The API never redirects (contract §1): Starlette's trailing-slash redirect would build
        # its Location from the request's Host header, an open redirect to any host.
        redirect_slashes=False,
    )
    app.state.server = server
    errors.install(app)

    api = APIRouter(prefix=API_PREFIX)
    for module in (sessions, accounts, policies, certificates, audit):
        api.include_router(module.router)
    app.include_router(api)

    @app.get("/healthz", response_model=Health, tags=["meta"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    _document_raw_bodies(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(AccessLog, trusted=settings.proxy_networks)
    return app


def _document_raw_bodies(app: FastAPI) -> None:
    """Put the models of the bodies that the rule package validates into the components, where
    the routes' `openapi_extra` refers to them."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            _, extra = models_json_schema(
                [(m, "validation") for m in (PolicyIn, ValidateIn, CertificateRequest)],
                ref_template="#/components/schemas/{model}",
            )
            schema["components"]["schemas"].update(extra["$defs"])
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
