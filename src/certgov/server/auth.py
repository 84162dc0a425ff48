"""Sessions (contract §3): login with its fixed check order, bearer-token authentication on every
call, and scope checks."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from certgov.server import problems
from certgov.server.audit import Actor, AuditRecord, Target
from certgov.server.context import Server, client_ip, ip_text, iso, parse_ts, server_of
from certgov.server.models import LoginIn
from certgov.server.netaddr import IPAddress, in_networks, parse_allowlist
from certgov.server.security import new_token, same, secret_digest, token_digest
from certgov.server.store import CLIENT_SECRET_KEY, Account, Credentials, Tx

SCOPE_LEVEL = {"read": 1, "write": 2, "admin": 3}
TOKEN_RE = re.compile(r"[A-Za-z0-9]{64}")
# Compared against when the uuid is unknown, so that the refusal costs the same work; no
# presented client_id and secret digest can equal both (a digest is never 64 zeros).
_NOBODY = Credentials("", "", "svc_" + "0" * 32, "0" * 64)

bearer_scheme = HTTPBearer(auto_error=False, description="A session token from the login call")


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    account: Account
    token_digest: str
    ip: str | None

    @property
    def uuid(self) -> str:
        return self.account["uuid"]

    @property
    def actor(self) -> Actor:
        return Actor(self.uuid, self.account["name"], self.ip)


def account_target(account: Account) -> Target:
    return Target("service_account", account["uuid"], account["name"])


def covers(scopes: list[str], needed: str) -> bool:
    """`read` ⊂ `write` ⊂ `admin`."""
    return max((SCOPE_LEVEL.get(s, 0) for s in scopes), default=0) >= SCOPE_LEVEL[needed]


def is_expired(account: Account, now: datetime) -> bool:
    expires_at = account["expires_at"]
    return expires_at is not None and now >= parse_ts(expires_at)


def ip_allowed(account: Account, addr: IPAddress | None) -> bool:
    allowlist = account["ip_allowlist"]
    return not allowlist or in_networks(addr, parse_allowlist(allowlist))


def login(server: Server, body: LoginIn, addr: IPAddress | None) -> dict[str, Any]:
    """Check, in the contract's order: credentials → lockout → inactive → expired → allowlist.

    Every outcome writes one audit event in the same transaction as its other writes; refusals
    are raised only after that transaction commits.
    """
    now = server.now()
    ip = ip_text(addr)
    uuid = body.uuid.lower()
    result: dict[str, Any] = {}
    with server.store.transaction() as tx:
        # Logins of one account take turns from here to the commit: counting its failures, the
        # lockout check and recording the outcome are one step, however many servers share the
        # database (reading the count before any lock let a right login through after dozens of
        # failures that committed meanwhile).
        known = tx.accounts.lock(uuid)
        presented = secret_digest(tx.keys.get(CLIENT_SECRET_KEY), body.client_secret)
        expected = known or _NOBODY
        if same(body.client_id, expected.client_id) & same(presented, expected.secret_digest):
            account = tx.accounts.get(uuid)
            assert account is not None  # its row is locked
            refusal = _check_account(tx, server, account, addr, now)
            if refusal is None:
                result = _open_session(tx, server, account, ip, now)
        else:
            # The same statements whether an account has the uuid or not: a known uuid with a
            # wrong secret must not answer measurably slower than an unknown one.
            tx.login_failures.add(uuid, iso(now))
            refusal = problems.invalid_credentials()
            _audit_failure(tx, known, ip, refusal.code, iso(now))
    if refusal is not None:
        raise refusal
    return result


def _check_account(
    tx: Tx, server: Server, account: Account, addr: IPAddress | None, now: datetime
) -> problems.ApiProblem | None:
    """The refusal, audited, for the right credentials of an account; None when the login may
    proceed."""
    settings = server.settings
    refusal: problems.ApiProblem | None = None
    failures = tx.login_failures.since(account["uuid"], iso(now - settings.lockout_window))
    if len(failures) >= settings.lockout_threshold:
        until = parse_ts(failures[-settings.lockout_threshold]) + settings.lockout_window
        wait = math.ceil((until - now).total_seconds())
        refusal = problems.too_many_requests(
            wait, "too many failed logins for this account; try again later"
        )
    elif not account["is_active"]:
        refusal = _inactive()
    elif is_expired(account, now):
        refusal = _expired()
    elif not ip_allowed(account, addr):
        refusal = _ip_refused()
    if refusal is not None:
        _audit_failure(tx, account, ip_text(addr), refusal.code, iso(now))
    return refusal


def _audit_failure(
    tx: Tx, account: Account | Credentials | None, ip: str | None, code: str, at: str
) -> None:
    actor, target = Actor(None, None, ip), None
    if isinstance(account, Credentials):
        actor = Actor(account.uuid, account.name, ip)
        target = Target("service_account", account.uuid, account.name)
    elif account is not None:
        actor = Actor(account["uuid"], account["name"], ip)
        target = account_target(account)
    tx.audit.append(AuditRecord("service_account.auth.failure", actor, target, "failure", code), at)


def _open_session(
    tx: Tx, server: Server, account: Account, ip: str | None, now: datetime
) -> dict[str, Any]:
    token = new_token()
    expires = now + server.settings.session_ttl
    if account["expires_at"] is not None:
        # A session never outlives its account.
        expires = min(expires, parse_ts(account["expires_at"]))
    tx.sessions.insert(token_digest(token), account["uuid"], iso(now), iso(expires))
    tx.login_failures.clear(account["uuid"])
    tx.accounts.touch(account["uuid"], iso(now))
    actor = Actor(account["uuid"], account["name"], ip)
    tx.audit.append(
        AuditRecord("service_account.auth.success", actor, account_target(account)), iso(now)
    )
    return {
        "success": True,
        "service_account": summary(account),
        "session": {
            "token": token,
            "token_type": "Bearer",
            "expires_at": iso(expires),
            "expires_in": int((expires - now).total_seconds()),
        },
    }


def summary(account: Account) -> dict[str, Any]:
    return {"uuid": account["uuid"], "name": account["name"], "scopes": account["scopes"]}


def _inactive() -> problems.ApiProblem:
    return problems.ApiProblem(401, "SERVICE_ACCOUNT_INACTIVE", "the service account is disabled")


def _expired() -> problems.ApiProblem:
    return problems.ApiProblem(401, "SERVICE_ACCOUNT_EXPIRED", "the service account has expired")


def _ip_refused() -> problems.ApiProblem:
    return problems.ApiProblem(
        401, "IP_NOT_ALLOWED", "the caller's address is outside the account's IP allowlist"
    )


def authenticate(server: Server, authorization: str | None, addr: IPAddress | None) -> Principal:
    """Resolve a bearer token to its account, re-checking the account on every call."""
    if authorization is None:
        raise problems.invalid_session()
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not TOKEN_RE.fullmatch(token):
        raise problems.invalid_session()
    digest = token_digest(token)
    now = server.now()
    with server.store.reading() as tx:
        session = tx.sessions.get(digest)
        account = None if session is None else tx.accounts.get(session.account_uuid)
    if session is None or account is None:
        raise problems.invalid_session()
    if not account["is_active"]:
        raise _inactive()
    if is_expired(account, now):
        raise _expired()
    if session.revoked_at is not None:
        raise problems.invalid_session()
    if now >= parse_ts(session.expires_at):
        raise problems.ApiProblem(401, "SESSION_EXPIRED", "the session has expired; log in again")
    if not ip_allowed(account, addr):
        raise _ip_refused()
    return Principal(account, digest, ip_text(addr))


def session_info(server: Server, principal: Principal) -> dict[str, Any]:
    with server.store.reading() as tx:
        session = tx.sessions.get(principal.token_digest)
    assert session is not None
    expires = parse_ts(session.expires_at)
    return {
        "expires_at": session.expires_at,
        "expires_in": int((expires - server.now()).total_seconds()),
    }


def revoke(server: Server, principal: Principal) -> None:
    now = iso(server.now())
    with server.store.transaction() as tx:
        tx.sessions.revoke(principal.token_digest, now)
        tx.audit.append(
            AuditRecord(
                "service_account.session.revoked",
                principal.actor,
                account_target(principal.account),
            ),
            now,
        )


def requires(scope: str) -> Callable[..., Principal]:
    """A dependency that authenticates the caller and checks it holds `scope`."""

    def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),  # noqa: B008
    ) -> Principal:
        del credentials  # declared so that OpenAPI documents the bearer scheme
        principal = authenticate(
            server_of(request), request.headers.get("authorization"), client_ip(request)
        )
        if not covers(principal.account["scopes"], scope):
            raise problems.ApiProblem(
                403,
                "INSUFFICIENT_SCOPE",
                f"this call needs the {scope!r} scope",
                [problems.field_problem("scope", f"requires {scope}")],
            )
        return principal

    return dependency
