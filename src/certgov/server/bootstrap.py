"""The first admin account: created from the command line, never over the API."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from certgov.server import accounts
from certgov.server.audit import CLI_ACTOR
from certgov.server.models import AccountIn
from certgov.server.store import Store


def bootstrap_admin(
    store: Store, name: str, now: datetime, expires_in_days: int | None = 365
) -> dict[str, Any]:
    """Create an `admin` account with no allowlist (and the schema, on a new database); answer
    its login body (uuid, id, secret)."""
    expires_at = None if expires_in_days is None else now + timedelta(days=expires_in_days)
    body = AccountIn(
        name=name,
        description="bootstrap administrator",
        scopes=["admin"],
        ip_allowlist=[],
        expires_at=expires_at,
    )
    store.create_schema()
    with store.transaction() as tx:
        account, secret = accounts.create(tx, CLI_ACTOR, body, now)
    return {"uuid": account["uuid"], "client_id": account["client_id"], "client_secret": secret}


def account_exists(store: Store, uuid: str) -> bool:
    with store.transaction() as tx:
        return tx.accounts.get(uuid) is not None
