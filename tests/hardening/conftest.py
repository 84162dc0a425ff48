"""The server harness of tests/server, for the attack tests here."""

from __future__ import annotations

from tests.server.conftest import (  # noqa: F401 (fixtures, registered by being imported here)
    clock,
    db_url,
    h,
    harness_factory,
    hs,
    server_pg_url,
    sqlite_url,
)
