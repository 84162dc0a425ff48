"""Service accounts (contract §5.1): every change audited in the same transaction."""

from __future__ import annotations

import uuid as uuidlib
from datetime import datetime
from typing import Any, Final

from certgov.rules.accounts import normalise_allowlist, normalise_scopes
from certgov.server import problems
from certgov.server.audit import Actor, AuditRecord
from certgov.server.auth import account_target, is_expired
from certgov.server.conditional import check_if_match, etag
from certgov.server.context import iso
from certgov.server.idempotency import Answer
from certgov.server.models import AccountIn
from certgov.server.security import new_client_id, new_secret, secret_digest
from certgov.server.store import CLIENT_SECRET_KEY, Account, Tx

PUBLIC_FIELDS: Final = (
    "uuid",
    "client_id",
    "name",
    "description",
    "scopes",
    "ip_allowlist",
    "expires_at",
    "is_active",
    "secret_created_at",
    "last_used_at",
    "created_at",
    "updated_at",
)
# What an update can change; the audit's before/after show these.
MUTABLE_FIELDS: Final = ("name", "description", "scopes", "ip_allowlist", "expires_at")


def public(account: Account) -> dict[str, Any]:
    return {k: account[k] for k in PUBLIC_FIELDS}


def account_etag(account: Account) -> str:
    return etag(account["uuid"], account["revision"])


def list_item(account: Account) -> dict[str, Any]:
    return {**public(account), "etag": account_etag(account)}


def _mutable(account: Account) -> dict[str, Any]:
    return {k: account[k] for k in MUTABLE_FIELDS}


def _fields(body: AccountIn, now: datetime) -> dict[str, Any]:
    """The stored form of a create or PUT body; an expiry in the past is refused."""
    expires_at = None
    if body.expires_at is not None:
        if body.expires_at <= now:
            raise problems.validation_error(
                [problems.field_problem("expires_at", "must be in the future")]
            )
        expires_at = iso(body.expires_at)
    return {
        "name": body.name,
        "description": body.description,
        "scopes": normalise_scopes(body.scopes),
        "ip_allowlist": normalise_allowlist(body.ip_allowlist),
        "expires_at": expires_at,
    }


def _audit(tx: Tx, kind: str, actor: Actor, account: Account, at: str, **details: Any) -> None:
    tx.audit.append(
        AuditRecord(f"service_account.{kind}", actor, account_target(account), details=details), at
    )


def created_answer(account: Account, secret: str) -> Answer:
    credentials = {"client_id": account["client_id"], "client_secret": secret}
    body = {"success": True, "data": public(account), "credentials": credentials, "replayed": False}
    replay = {"success": True, "data": public(account), "credentials": None, "replayed": True}
    return Answer(201, body, {"ETag": account_etag(account)}, replay)


def create(tx: Tx, actor: Actor, body: AccountIn, now: datetime) -> tuple[Account, str]:
    """A new active account and its secret (returned once, stored only as a digest)."""
    secret = new_secret()
    stamp = iso(now)
    account = tx.accounts.insert(
        {
            "uuid": str(uuidlib.uuid4()),
            "client_id": new_client_id(),
            **_fields(body, now),
            "is_active": True,
            "secret_digest": secret_digest(tx.keys.get(CLIENT_SECRET_KEY), secret),
            "secret_created_at": stamp,
            "last_used_at": None,
            "created_at": stamp,
            "updated_at": stamp,
            "revision": 1,
        }
    )
    _audit(tx, "created", actor, account, stamp, after=_mutable(account))
    return account, secret


def get(tx: Tx, uuid: str) -> Account:
    account = tx.accounts.get(uuid)
    if account is None:
        raise problems.not_found("service account", uuid)
    return account


def _get_matching(tx: Tx, uuid: str, if_match: str | None) -> Account:
    account = get(tx, uuid)
    check_if_match(if_match, account_etag(account), lambda: public(account))
    return account


def replace(
    tx: Tx, actor: Actor, uuid: str, body: AccountIn, now: datetime, if_match: str | None
) -> Account:
    """Full replacement of the mutable fields; an identical body changes nothing.

    The sessions of an account that has expired failed as expired, and stay dead when the expiry
    is lifted or moved later (contract §3): they are revoked with the change.
    """
    account = _get_matching(tx, uuid, if_match)
    fields = _fields(body, now)
    before = _mutable(account)
    if fields == before:
        return account
    stamp = iso(now)
    updated = tx.accounts.update(uuid, {**fields, "updated_at": stamp})
    details: dict[str, Any] = {"before": before, "after": _mutable(updated)}
    if is_expired(account, now):
        details["sessions_revoked"] = tx.sessions.revoke_all(uuid, stamp)
    _audit(tx, "updated", actor, updated, stamp, **details)
    return updated


def set_active(
    tx: Tx, actor: Actor, uuid: str, active: bool, now: datetime, if_match: str | None
) -> Account:
    """Enable or disable; disabling revokes the sessions, so re-enabling does not revive them."""
    account = _get_matching(tx, uuid, if_match)
    if account["is_active"] == active:
        return account
    stamp = iso(now)
    updated = tx.accounts.update(uuid, {"is_active": active, "updated_at": stamp})
    details: dict[str, Any] = {}
    if not active:
        details["sessions_revoked"] = tx.sessions.revoke_all(uuid, stamp)
    _audit(tx, "enabled" if active else "disabled", actor, updated, stamp, **details)
    return updated


def regenerate_secret(
    tx: Tx,
    actor: Actor,
    uuid: str,
    revoke_sessions: bool,
    now: datetime,
    if_match: str | None,
) -> tuple[Account, str]:
    """A new secret; sessions live on until their TTL unless `revoke_sessions`."""
    _get_matching(tx, uuid, if_match)
    secret = new_secret()
    stamp = iso(now)
    updated = tx.accounts.update(
        uuid,
        {
            "secret_digest": secret_digest(tx.keys.get(CLIENT_SECRET_KEY), secret),
            "secret_created_at": stamp,
            "updated_at": stamp,
        },
    )
    revoked = tx.sessions.revoke_all(uuid, stamp) if revoke_sessions else 0
    _audit(tx, "secret_regenerated", actor, updated, stamp, sessions_revoked=revoked)
    return updated, secret


def delete(tx: Tx, actor: Actor, uuid: str, now: datetime, if_match: str | None) -> None:
    """Remove the account and its sessions; its audit history stays."""
    account = _get_matching(tx, uuid, if_match)
    tx.accounts.delete(uuid)
    _audit(tx, "deleted", actor, account, iso(now), before=_mutable(account))
