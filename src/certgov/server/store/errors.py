"""What the store refuses, in the domain's words.

The store knows nothing of HTTP: `certgov.server.errors` maps each of these to the contract's
error envelope (status, code), and the message travels as the exception's text.
"""

from __future__ import annotations


class StoreError(Exception):
    """The root of the store's refusals."""


class NameTaken(StoreError):
    """Another object of the same kind already has the name (names are unique per kind)."""

    def __init__(self, kind: str, name: object) -> None:
        super().__init__(f"a {kind} named {name!r} already exists")
        self.kind = kind
        self.name = name


class AuditUnavailable(StoreError):
    """The audit event cannot be written, so the change it audits must not happen either."""

    def __init__(self) -> None:
        super().__init__("the audit log cannot be written; nothing was changed")
