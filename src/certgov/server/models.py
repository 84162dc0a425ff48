"""Request and response models: they validate bodies and are what /openapi.json documents."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from certgov.rules.names import name_character_problem

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


def _name(value: str) -> str:
    problem = name_character_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX), AfterValidator(_name)]


# -- errors ----------------------------------------------------------------------------------


class FieldProblem(BaseModel):
    field: str
    message: str


class Violation(BaseModel):
    policy: str
    rule: str
    fail: Literal["hard", "soft"]
    message: str


class ErrorBody(BaseModel):
    code: str = Field(examples=["VALIDATION_ERROR"])
    message: str
    details: list[FieldProblem] | list[Violation] | dict[str, Any] = Field(
        description="Field problems; the violations for POLICY_VIOLATION; for 412 "
        "PRECONDITION_FAILED the current object"
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
    name: Name
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


# -- policies --------------------------------------------------------------------------------
# Policy bodies are validated by certgov.rules.validation (every problem at once, with JSON
# paths); these models document them.

RuleAction = Literal[
    "enforce_values",
    "enforce_key_usage",
    "disable_wildcard",
    "block_subdomains",
    "block_other_domains",
    "enforce_domain_suffix",
    "enforce_minimum_key_size",
    "enforce_algorithm",
    "enforce_digest",
    "enforce_max_validity",
    "enforce_min_validity",
    "block_ip_in_san",
    "enforce_max_san_count",
    "require_san",
    "block_email_in_san",
    "enforce_certificate_purpose",
    "block_ca_flag",
]


class MatchingCriteria(BaseModel):
    action: Literal["certificate.generate", "certificate.renew"]
    domains: list[str] = Field(min_length=1)


class PolicyRule(BaseModel):
    action: RuleAction
    fail: Literal["hard", "soft"] = "hard"
    values: dict[str, str | int | list[str]] | None = Field(
        default=None, description="numbers may be sent as integers; they are answered as strings"
    )


class PolicyIn(Strict):
    name: Name
    description: str = Field(default="", max_length=DESCRIPTION_MAX)
    is_enabled: bool = False
    matching_criteria: MatchingCriteria
    rules: list[PolicyRule]


class Policy(BaseModel):
    id: int
    name: str
    description: str
    is_enabled: bool
    matching_criteria: MatchingCriteria
    rules: list[PolicyRule]
    created_at: str
    updated_at: str


class PolicyItem(Policy):
    etag: str


class PolicyOut(Ok):
    data: Policy


class PolicyList(Ok):
    data: list[PolicyItem]
    meta: Meta


class Sans(BaseModel):
    dns: list[str] = []
    ip: list[str] = []
    email: list[str] = []
    uri: list[str] = []


class Key(BaseModel):
    algorithm: Literal["rsa", "ecdsa"]
    size: int


class CertificateRequest(BaseModel):
    """Either the fields, or `csr` with `action`, `validity_days` and `purpose`."""

    action: Literal["certificate.generate", "certificate.renew"]
    validity_days: int
    common_name: str | None = None
    sans: Sans | None = None
    key: Key | None = None
    digest: Literal["sha256", "sha384", "sha512"] | None = None
    subject: dict[str, str] | None = None
    key_usage: list[str] | None = None
    extended_key_usage: list[str] | None = None
    purpose: Literal["server", "client", "code_signing", "email"] | None = None
    is_ca: bool = False
    csr: str | None = Field(default=None, description="a PEM certificate signing request")


class ValidateIn(Strict):
    request: CertificateRequest
    policy_id: int | None = Field(default=None, description="evaluate this policy, even disabled")
    policy: PolicyIn | None = Field(default=None, description="evaluate a policy not yet created")


class MatchedPolicy(BaseModel):
    id: int | None
    name: str


class EvaluationData(BaseModel):
    result: Literal["pass", "warn", "block"]
    allowed: bool
    matched_policies: list[MatchedPolicy]
    violations: list[Violation]
    applied_values: dict[str, str]


class ValidateOut(Ok):
    data: EvaluationData


class IssuedData(EvaluationData):
    certificate: str | None = Field(description="PEM, signed by the local CA, when a CSR was sent")


class CertificateOut(Ok):
    data: IssuedData
