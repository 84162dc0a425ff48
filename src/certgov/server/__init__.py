"""The reference server: `create_app(Settings(...))` serves the CLM API contract (docs/api.md).

Imports nothing of the reconciler but `certgov.rules`. The app (FastAPI, SQLAlchemy) is imported
on first use of `create_app`, so that the CLI's other commands never pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from certgov.server.settings import ServerConfigError, Settings

if TYPE_CHECKING:
    from certgov.server.app import create_app

__all__ = ["ServerConfigError", "Settings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from certgov.server.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
