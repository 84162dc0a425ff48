"""What each contract endpoint is, so that errors can say it in words.

For every (method, path) the client calls, this names the operation ("reading service accounts"),
the scope the contract requires, whether the endpoint is an [extension] (a 404 or 405 there means
"this server lacks the feature", not "object missing"), and whether the path names a collection
(a 404 on a collection can never mean a missing object).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    """One endpoint of the contract, as far as error messages need to know it."""

    operation: str
    feature: str
    scope: str | None
    extension: bool
    collection: bool


@dataclass(frozen=True)
class _Entry:
    pattern: re.Pattern[str]
    feature: str
    extension: bool
    collection: bool
    methods: dict[str, tuple[str, str | None]]


_ID = r"[^/]+"
_TABLE = (
    _Entry(
        re.compile(r"/service-account/auth"),
        "sessions",
        False,
        True,
        {"POST": ("logging in", None)},
    ),
    _Entry(
        re.compile(r"/service-account/auth/verify"),
        "sessions",
        False,
        True,
        {"GET": ("verifying the session", None)},
    ),
    _Entry(
        re.compile(r"/service-account/auth/revoke"),
        "sessions",
        False,
        True,
        {"POST": ("revoking the session", None)},
    ),
    _Entry(
        re.compile(r"/service/policies"),
        "policies",
        False,
        True,
        {"GET": ("reading policies", "read"), "POST": ("creating policies", "write")},
    ),
    # validate with a policy_id can answer the NOT_FOUND envelope for that id: not a collection.
    _Entry(
        re.compile(r"/service/policies/validate"),
        "policy validation",
        False,
        False,
        {"POST": ("validating policies", "read")},
    ),
    _Entry(
        re.compile(rf"/service/policies/{_ID}"),
        "policies",
        False,
        False,
        {"GET": ("reading policies", "read"), "PUT": ("changing policies", "write")},
    ),
    # The UI can delete a policy but the documented API cannot: deleting is an extension.
    _Entry(
        re.compile(rf"/service/policies/{_ID}"),
        "deleting policies",
        True,
        False,
        {"DELETE": ("deleting policies", "write")},
    ),
    _Entry(
        re.compile(rf"/service/policies/{_ID}/enable"),
        "policies",
        False,
        False,
        {"POST": ("enabling policies", "write")},
    ),
    _Entry(
        re.compile(rf"/service/policies/{_ID}/disable"),
        "policies",
        False,
        False,
        {"POST": ("disabling policies", "write")},
    ),
    _Entry(
        re.compile(r"/service/service-accounts"),
        "service account management",
        True,
        True,
        {
            "GET": ("reading service accounts", "admin"),
            "POST": ("creating service accounts", "admin"),
        },
    ),
    _Entry(
        re.compile(rf"/service/service-accounts/{_ID}"),
        "service account management",
        True,
        False,
        {
            "GET": ("reading service accounts", "admin"),
            "PUT": ("changing service accounts", "admin"),
            "DELETE": ("deleting service accounts", "admin"),
        },
    ),
    _Entry(
        re.compile(rf"/service/service-accounts/{_ID}/enable"),
        "service account management",
        True,
        False,
        {"POST": ("enabling service accounts", "admin")},
    ),
    _Entry(
        re.compile(rf"/service/service-accounts/{_ID}/disable"),
        "service account management",
        True,
        False,
        {"POST": ("disabling service accounts", "admin")},
    ),
    _Entry(
        re.compile(rf"/service/service-accounts/{_ID}/regenerate-secret"),
        "service account management",
        True,
        False,
        {"POST": ("regenerating service account secrets", "admin")},
    ),
    _Entry(
        re.compile(r"/service/audit-events"),
        "the audit log",
        True,
        True,
        {"GET": ("reading audit events", "admin")},
    ),
    _Entry(
        re.compile(r"/service/certificates"),
        "certificate requests",
        True,
        True,
        {"POST": ("requesting certificates", "write")},
    ),
    _Entry(
        re.compile(r"/service/certificates/ca\.pem"),
        "certificate requests",
        True,
        True,
        {"GET": ("reading the CA certificate", None)},
    ),
)


def route_for(method: str, path: str) -> Route:
    """Describe `method path` (path relative to /api/v1, without the query)."""
    method = method.upper()
    for entry in _TABLE:
        if entry.pattern.fullmatch(path) and method in entry.methods:
            operation, scope = entry.methods[method]
            return Route(operation, entry.feature, scope, entry.extension, entry.collection)
    return Route(f"{method} {path}", path, None, False, False)
