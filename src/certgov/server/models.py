"""Request and response models: they validate bodies and are what /openapi.json documents."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

Scope = Literal["read", "write", "admin"]
NAME_MAX = 200
DESCRIPTION_MAX = 2000


class Strict(BaseModel):
    """Request bodies: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")


def _allowlist_entry(value: str) -> str:
    try:
        ipaddress.ip_network(value.strip(), strict=True)
    except ValueError as exc:
        raise ValueError(f"not an IP address or CIDR range without host bits: {exc}") from None
    return value.strip()


AllowlistEntry = Annotated[str, Field(max_length=64), AfterValidator(_allowlist_entry)]


# -- errors ----------------------------------------------------------------------------------


class FieldProblem(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str = Field(examples=["VALIDATION_ERROR"])
    message: str
    details: list[FieldProblem] | dict[str, Any] = Field(
        description="Field problems; for 412 PRECONDITION_FAILED the current object"
    )


class ErrorEnvelope(BaseModel):
    success: Literal[False]
    error: ErrorBody


class Health(BaseModel):
    status: Literal["ok"]


class Meta(BaseModel):
    page: int
    per_page: int
    total: int
    total_pages: int


class Ok(BaseModel):
    success: Literal[True]


# -- sessions --------------------------------------------------------------------------------


class LoginIn(Strict):
    uuid: str = Field(max_length=64)
    client_id: str = Field(max_length=64)
    client_secret: str = Field(max_length=256)


class AccountSummary(BaseModel):
    uuid: str
    name: str
    scopes: list[Scope]


class NewSession(BaseModel):
    token: str
    token_type: Literal["Bearer"]
    expires_at: str
    expires_in: int


class SessionInfo(BaseModel):
    expires_at: str
    expires_in: int


class LoginOut(Ok):
    service_account: AccountSummary
    session: NewSession


class VerifyOut(Ok):
    valid: Literal[True]
    service_account: AccountSummary
    session: SessionInfo


# -- service accounts ------------------------------------------------------------------------


class AccountIn(Strict):
    name: str = Field(min_length=1, max_length=NAME_MAX)
    description: str = Field(default="", max_length=DESCRIPTION_MAX)
    scopes: list[Scope] = Field(min_length=1)
    ip_allowlist: list[AllowlistEntry] = Field(default_factory=list, max_length=100)
    expires_at: AwareDatetime | None = None


class Account(BaseModel):
    uuid: str
    client_id: str
    name: str
    description: str
    scopes: list[Scope]
    ip_allowlist: list[str]
    expires_at: str | None
    is_active: bool
    secret_created_at: str
    last_used_at: str | None
    created_at: str
    updated_at: str


class AccountItem(Account):
    etag: str


class Credentials(BaseModel):
    client_id: str
    client_secret: str


class AccountOut(Ok):
    data: Account


class AccountWithCredentials(Ok):
    data: Account
    credentials: Credentials | None = Field(
        description="Shown once; null when the answer is a replay of an idempotent create"
    )
    replayed: bool


class AccountList(Ok):
    data: list[AccountItem]
    meta: Meta


# -- audit -----------------------------------------------------------------------------------


class AuditActor(BaseModel):
    service_account: str | None
    name: str | None
    ip: str | None


class AuditTarget(BaseModel):
    kind: str
    id: str
    name: str | None


class AuditEvent(BaseModel):
    id: int
    type: str
    occurred_at: str
    actor: AuditActor
    target: AuditTarget | None
    outcome: Literal["success", "failure"]
    code: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditList(Ok):
    data: list[AuditEvent]
    meta: Meta
