"""The reference server: `create_app(Settings(...))` serves the CLM API contract (clm-api.md).

Imports nothing of the reconciler but `certgov.rules`.
"""

from __future__ import annotations

from certgov.server.app import create_app
from certgov.server.settings import ServerConfigError, Settings

__all__ = ["ServerConfigError", "Settings", "create_app"]
