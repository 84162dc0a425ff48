"""Running the app under uvicorn, with the client-address rule applied by the app alone."""

from __future__ import annotations

from typing import Any

import uvicorn

from certgov.server.app import create_app
from certgov.server.settings import Settings

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def log_config(level: str) -> dict[str, Any]:
    """Uvicorn's loggers and the server's own (incl. the access log) on stderr."""
    handler = {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
    logger = {"handlers": ["stderr"], "level": level.upper(), "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {"stderr": handler},
        "loggers": {
            "uvicorn": logger,
            "uvicorn.error": {"level": level.upper()},
            "certgov.server": logger,
        },
    }


def serve(settings: Settings, host: str, port: int, log_level: str = "info") -> None:
    """Serve until interrupted.

    Uvicorn's own proxy-header handling is off (by default it would believe X-Forwarded-For from
    127.0.0.1); the app applies the --trusted-proxy rule itself. Its access log is off too: the
    app's own access log writes address, method, path and status, never headers or bodies.
    """
    app = create_app(settings)
    uvicorn.run(
        app,
        host=host,
        port=port,
        proxy_headers=False,
        server_header=False,
        access_log=False,
        log_config=log_config(log_level),
        log_level=log_level,
    )
