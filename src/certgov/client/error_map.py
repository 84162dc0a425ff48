"""Turns an error answer of the CLM API into a typed certgov error whose message says what to fix.

Every error code of the contract (docs/api.md §1) has its class and its wording here; a 404 or
405 on an [extension] endpoint becomes ExtensionMissingError ("this server does not offer ...")
unless the body is the contract's NOT_FOUND envelope for one object.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from certgov.apiurl import API_BASE
from certgov.client.retry import parse_retry_after
from certgov.client.routes import Route
from certgov.errors import (
    ApiError,
    AuthenticationError,
    ConflictError,
    ExtensionMissingError,
    InvalidRequestError,
    NotFoundError,
    PolicyViolationError,
    PreconditionFailedError,
    RateLimitedError,
    ScopeError,
)

SCOPES = ("read", "write", "admin")
Details = Sequence[Mapping[str, Any]] | Mapping[str, Any] | None


@dataclass(frozen=True)
class Envelope:
    """The contract's error body: `{"success": false, "error": {code, message, details}}`."""

    code: str
    message: str
    details: Details


@dataclass(frozen=True)
class CallContext:
    """What the client was doing when the answer came, for the wording of the error."""

    method: str
    path: str
    route: Route
    what: str
    server: str
    account: str
    scopes: tuple[str, ...] | None = None
    login: bool = False
    if_match: str | None = None
    ambiguous: bool = False


def parse_envelope(response: httpx.Response) -> Envelope | None:
    """The error envelope of `response`, or None when the body is not one."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("success") is not False:
        return None
    error = body.get("error")
    if not isinstance(error, dict) or not isinstance(error.get("code"), str):
        return None
    details = error.get("details")
    if not isinstance(details, list | dict):
        details = None
    return Envelope(error["code"], str(error.get("message") or ""), details)


def error_for(response: httpx.Response, ctx: CallContext) -> ApiError:
    """The typed error for a non-2xx answer."""
    envelope = parse_envelope(response)
    status = response.status_code
    if status in (404, 405) and _means_missing_feature(status, envelope, ctx.route):
        return _missing_feature(response, envelope, ctx)
    if envelope is None:
        return ApiError(
            f"{ctx.what} failed: the server answered {status} {response.reason_phrase}",
            status=status,
            code=f"HTTP_{status}",
        )
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    cls, message = _classify(envelope, ctx, retry_after)
    return cls(
        message,
        status=status,
        code=envelope.code,
        details=envelope.details,
        retry_after=retry_after,
    )


def _means_missing_feature(status: int, envelope: Envelope | None, route: Route) -> bool:
    if status == 405:
        return True
    if envelope is not None and envelope.code == "NOT_FOUND" and not route.collection:
        return False
    return route.extension or route.collection or envelope is None


def _missing_feature(
    response: httpx.Response, envelope: Envelope | None, ctx: CallContext
) -> ApiError:
    status = response.status_code
    code = envelope.code if envelope else f"HTTP_{status}"
    call = f"{ctx.method} {API_BASE}{ctx.path} answered {status}"
    if ctx.route.extension:
        return ExtensionMissingError(
            f"the server at {ctx.server} does not offer {ctx.route.feature} ({call}); it is an "
            "[extension] of the CLM API, served by `certgov server`",
            status=status,
            code=code,
        )
    return ApiError(
        f"the server at {ctx.server} does not serve {ctx.route.feature} ({call}), which every "
        "CLM API offers: check --url or CERTGOV_URL",
        status=status,
        code=code,
    )


def _classify(
    envelope: Envelope, ctx: CallContext, retry_after: float | None
) -> tuple[type[ApiError], str]:
    code, account = envelope.code, ctx.account
    failed = f"{ctx.what} failed"
    if code == "INVALID_CREDENTIALS":
        return AuthenticationError, (
            f"login refused for service account {account}: unknown uuid, wrong client_id or "
            "wrong client_secret; check the credentials file or CERTGOV_UUID, "
            "CERTGOV_CLIENT_ID and CERTGOV_CLIENT_SECRET"
        )
    if code == "SERVICE_ACCOUNT_INACTIVE":
        return AuthenticationError, (
            f"service account {account} is disabled: an admin must enable it, or use another "
            "account"
        )
    if code == "SERVICE_ACCOUNT_EXPIRED":
        return AuthenticationError, (
            f"service account {account} has expired: an admin must move its expires_at into the "
            "future, or use another account"
        )
    if code == "IP_NOT_ALLOWED":
        return AuthenticationError, (
            f"service account {account} may not be used from this machine's address "
            f"({envelope.message or 'IP not allowed'}): add the address to the account's "
            "ip_allowlist, or run from an allowed one"
        )
    if code in ("INVALID_SESSION", "SESSION_EXPIRED"):
        return AuthenticationError, (
            f"{failed}: the server refused the session token ({code}) even after a fresh login"
        )
    if code == "INSUFFICIENT_SCOPE":
        needed = _needed_scope(envelope.details) or ctx.route.scope or "a scope this account lacks"
        has = ", ".join(ctx.scopes) if ctx.scopes else "no scopes"
        return ScopeError, f"{ctx.route.operation} needs scope {needed}; this account has {has}"
    if code == "TOO_MANY_REQUESTS":
        when = f"retry in {_seconds(retry_after)}" if retry_after is not None else "retry later"
        if ctx.login:
            return AuthenticationError, (
                f"login for service account {account} is locked out after too many failed "
                f"attempts, or rate-limited: {when}"
            )
        return RateLimitedError, f"{failed}: rate-limited by the server: {when}"
    if code == "NOT_FOUND":
        return NotFoundError, f"{failed}: no such object on the server at {ctx.server}"
    if code == "CONFLICT":
        return ConflictError, f"{failed}: conflict: {envelope.message or 'duplicate'}"
    if code == "PRECONDITION_FAILED":
        return PreconditionFailedError, _precondition_message(envelope, ctx)
    if code == "VALIDATION_ERROR":
        return InvalidRequestError, _with_details(f"{failed}: {envelope.message}", envelope.details)
    if code == "POLICY_VIOLATION":
        return PolicyViolationError, _with_details(
            f"{ctx.what} blocked by policy: {envelope.message}", envelope.details
        )
    if code == "PAYLOAD_TOO_LARGE":
        return ApiError, f"{failed}: the request body is larger than the server accepts (1 MiB)"
    if code == "AUDIT_UNAVAILABLE":
        return ApiError, (
            f"{failed}: the server cannot write its audit log, so it changed nothing; try again "
            "later"
        )
    return ApiError, f"{failed}: {code}: {envelope.message}"


def _precondition_message(envelope: Envelope, ctx: CallContext) -> str:
    current = envelope.details.get("etag") if isinstance(envelope.details, Mapping) else None
    seen = f"If-Match {ctx.if_match}" if ctx.if_match else "If-Match"
    now = f"; it is now {current}" if current else ""
    message = (
        f"{ctx.what} failed: changed by someone else since it was read "
        f"({seen} no longer matches{now})"
    )
    if ctx.ambiguous:
        message += "; an earlier attempt whose answer was lost may have made this change itself"
    return message


def _seconds(value: float) -> str:
    return f"{value:g} second{'' if value == 1 else 's'}"


def _needed_scope(details: Details) -> str | None:
    """The scope `details` names; the contract says details name it but not in which key."""
    items: list[Any] = []
    if isinstance(details, Mapping):
        items = list(details.values())
    elif details is not None:
        for entry in details:
            items.extend(entry.values() if isinstance(entry, Mapping) else [entry])
    for value in items:
        # Accept "admin" as well as prose such as "requires admin".
        words: list[str] = re.findall(r"[a-z]+", value if isinstance(value, str) else "")
        for word in words:
            if word in SCOPES:
                return word
    return None


def _with_details(message: str, details: Details) -> str:
    if isinstance(details, Mapping):
        details = [details]
    parts = [_describe_detail(d) for d in details or [] if isinstance(d, Mapping)]
    parts = [p for p in parts if p]
    return f"{message}: {'; '.join(parts)}" if parts else message


def _describe_detail(detail: Mapping[str, Any]) -> str:
    if "rule" in detail:
        policy = f"{detail['policy']}: " if detail.get("policy") else ""
        fail = f" ({detail['fail']})" if detail.get("fail") else ""
        return f"{policy}{detail['rule']}{fail}: {detail.get('message', '')}".rstrip(": ")
    if "field" in detail:
        return f"{detail['field']}: {detail.get('message', '')}".rstrip(": ")
    return str(detail.get("message", ""))
