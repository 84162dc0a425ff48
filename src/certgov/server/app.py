"""The app factory: `create_app(settings)` builds everything; nothing exists at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from certgov import __version__
from certgov.server import errors
from certgov.server.context import Server
from certgov.server.middleware import AccessLog, BodyLimit
from certgov.server.models import Health
from certgov.server.ratelimit import RateLimiter
from certgov.server.routes import accounts, audit, sessions
from certgov.server.settings import Settings
from certgov.server.store import Store

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    """A ready app over the settings' database (schema created or kept)."""
    settings = settings or Settings()
    store = Store(settings.database_url)
    server = Server(settings, store, RateLimiter(settings.rate_limit, settings.clock))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            store.close()

    app = FastAPI(
        title="certgov reference CLM server",
        version=__version__,
        summary="Serves the CLM Service API contract (clm-api.md) for certgov.",
        lifespan=lifespan,
    )
    app.state.server = server
    errors.install(app)

    api = APIRouter(prefix=API_PREFIX)
    for module in (sessions, accounts, audit):
        api.include_router(module.router)
    app.include_router(api)

    @app.get("/healthz", response_model=Health, tags=["meta"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(AccessLog, trusted=settings.proxy_networks)
    return app
