"""Every error certgov raises on purpose, under one root.

    CertgovError                      exit 1 unless a subclass says otherwise
    ├── DeclarationError              bad declarations: every Problem found, each with a position
    ├── UsageError                    a command was called with options that cannot work together
    │   ├── EnvironmentRequiredError  no --env in a repository with environments: `names` lists them
    │   └── UnknownEnvironmentError   --env names an environment certgov.yaml does not declare
    ├── UnsafePlanError               the plan would disable or delete too much of a kind
    ├── PlanFileError                 a plan file that cannot be used: unreadable, malformed, edited
    ├── StalePlanError                an object the plan touches changed after planning
    ├── SourceChangedError            the declarations on disk are not the plan's
    ├── TargetMismatchError           a plan file made for another server or environment
    ├── PartialPlanError              a plan that did not compare every managed kind
    ├── MissingSecretsError           rotations only because the store has no record
    ├── SnapshotError                 a snapshot file that cannot be used (unreadable, edited, old)
    ├── PolicyTestsFailedError        policy tests did not hold against the dry run
    ├── ApplyFailedError              some changes failed; the others applied or not attempted
    ├── ApplyInterruptedError         Ctrl-C during apply: what was done, what was not started (130)
    ├── DemoError                     a step of `certgov demo` failed
    ├── ApiError                      the CLM API answered with the contract's error envelope
    │   ├── AuthenticationError       login or session refused (exit 3)
    │   ├── ScopeError                403 INSUFFICIENT_SCOPE
    │   ├── NotFoundError             404 on an object
    │   ├── ExtensionMissingError     404 on an [extension] path: the server lacks the feature
    │   ├── ConflictError             409
    │   ├── PreconditionFailedError   412: changed by someone else
    │   ├── InvalidRequestError       422 VALIDATION_ERROR: `details` names each field
    │   ├── PolicyViolationError      422 POLICY_VIOLATION: enabled policies block a request
    │   └── RateLimitedError          429 after the retries ran out
    ├── ConnectionFailedError         the API cannot be reached (exit 3)
    ├── GitHubError                   the GitHub REST API refused a call (PR comments, drift issues)
    │   ├── GitHubAuthenticationError 401: the token is missing, wrong or expired (exit 3)
    │   ├── GitHubPermissionError     403: the token lacks a permission
    │   ├── GitHubNotFoundError       404: no such repository, pull request or issue, or hidden
    │   ├── GitHubValidationError     422: GitHub refused the body
    │   └── GitHubRateLimitedError    a primary or secondary rate limit; `retry_after` says when
    └── SecretStoreError              a secret store failed a read or write; never holds the secret
        └── SecretStoreConflictError  someone else wrote the record meanwhile (check-and-set)

The CLI boundary (certgov.cli) is the only place that turns these into text and exit codes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_UNREACHABLE = 3
EXIT_INTERRUPTED = 130


@dataclass(frozen=True, order=True)
class Position:
    """Where a node sits in a file: 1-based line and column."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if not self.line:
            return self.file
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input, at one place, about one field."""

    position: Position | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.position}: " if self.position else ""
        what = f"{self.field}: " if self.field else ""
        return f"{where}{what}{self.message}"


class CertgovError(Exception):
    """Root of every error certgov raises on purpose."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, *, position: Position | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


class UsageError(CertgovError):
    """Options or arguments that cannot work together."""


class EnvironmentRequiredError(UsageError):
    """A repository with environments, and no --env (nor CERTGOV_ENV) to say which."""

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__(
            f"certgov.yaml declares environments ({', '.join(names)}): pass --env NAME "
            "(or set CERTGOV_ENV) to say which one"
        )
        self.names = tuple(names)


class UnknownEnvironmentError(UsageError):
    """--env (or CERTGOV_ENV) names an environment that certgov.yaml does not declare."""


class UnsafePlanError(CertgovError):
    """The plan would delete or disable too large a share of a kind's managed objects."""


class PlanFileError(CertgovError):
    """A plan file that cannot be used: unreadable, malformed or edited by hand."""


class StalePlanError(CertgovError):
    """An object the plan touches changed after the plan was made."""


class SourceChangedError(CertgovError):
    """The declarations on disk are not the ones the plan was made from."""


class TargetMismatchError(CertgovError):
    """A plan file made for another target (server or environment) than apply would write to."""


class PartialPlanError(CertgovError):
    """A plan that did not compare every managed kind: it cannot be applied, nor trusted to say
    that nothing changed."""


class MissingSecretsError(CertgovError):
    """Rotations only because the store has no record of the secret, without --rotate-missing."""


class SnapshotError(CertgovError):
    """A snapshot that cannot be used: unreadable, edited, of another target, or too old."""


class PolicyTestsFailedError(CertgovError):
    """At least one policy test did not hold; `count` says how many."""

    def __init__(self, message: str, *, count: int) -> None:
        super().__init__(message)
        self.count = count

    @classmethod
    def counted(cls, failed: int) -> PolicyTestsFailedError:
        return cls(f"{failed} policy test{'s' if failed != 1 else ''} failed", count=failed)


class ApplyFailedError(CertgovError):
    """Some changes failed; the others were applied or not attempted."""


class ApplyInterruptedError(CertgovError):
    """Apply was interrupted: the changes under way finished, no other started. `result` is
    the ApplyResult so far (certgov.apply.result), for the CLI to say what was done."""

    exit_code = EXIT_INTERRUPTED

    def __init__(self, result: Any) -> None:
        done = sum(1 for o in result.outcomes if o.status == "applied")
        left = len(result.outcomes) - done
        super().__init__(
            f"interrupted: {done} change{'s' if done != 1 else ''} applied, {left} not; "
            "run `certgov plan` to see what remains"
        )
        self.result = result


class DemoError(CertgovError):
    """A step of the demo failed; the message says which and why."""


class DeclarationError(CertgovError):
    """The declarations are invalid; `problems` lists all of them, sorted by position."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = sorted(
            problems, key=lambda p: (p.position or Position(""), p.field, p.message)
        )
        n = len(self.problems)
        super().__init__(f"{n} problem{'s' if n != 1 else ''} in the declarations")


class ConnectionFailedError(CertgovError):
    """The API could not be reached."""

    exit_code = EXIT_UNREACHABLE


class ApiError(CertgovError):
    """The API refused a call with the contract's error envelope."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        details: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.details = details
        self.retry_after = retry_after


class AuthenticationError(ApiError):
    """Login or session refused; the message says what to fix."""

    exit_code = EXIT_UNREACHABLE


class ScopeError(ApiError):
    """The account's scopes do not cover the call."""

    exit_code = EXIT_UNREACHABLE


class NotFoundError(ApiError):
    """No object with that id."""


class ExtensionMissingError(ApiError):
    """A 404 on an [extension] path: this server does not offer the feature."""


class ConflictError(ApiError):
    """A duplicate name, or an Idempotency-Key reused with another body."""


class PreconditionFailedError(ApiError):
    """If-Match did not match: the object changed since it was read."""


class InvalidRequestError(ApiError):
    """422 VALIDATION_ERROR: the server refused the body; `details` names each field."""


class PolicyViolationError(ApiError):
    """422 POLICY_VIOLATION: the enabled policies block a certificate request."""


class RateLimitedError(ApiError):
    """429 that outlasted the retries; `retry_after` says when to try again."""


class GitHubError(CertgovError):
    """GitHub answered a call with an error; `status` is the HTTP status. Never holds the token."""

    def __init__(self, message: str, *, status: int, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class GitHubAuthenticationError(GitHubError):
    """401: GITHUB_TOKEN is wrong or expired."""

    exit_code = EXIT_UNREACHABLE


class GitHubPermissionError(GitHubError):
    """403: the token may not do this (e.g. the workflow lacks `pull-requests: write`)."""


class GitHubNotFoundError(GitHubError):
    """404: no such repository, pull request or issue, or one the token cannot see."""


class GitHubValidationError(GitHubError):
    """422: GitHub refused the body (e.g. a comment over 65,536 characters)."""


class GitHubRateLimitedError(GitHubError):
    """A primary or secondary rate limit that outlasted the retries."""


class SecretStoreError(CertgovError):
    """A secret store failed; `retryable` says if trying again can help. Never holds the secret."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class SecretStoreConflictError(SecretStoreError):
    """Another writer changed the record between our read and our write (check-and-set)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


@dataclass
class ProblemCollector:
    """Collects problems so that validation reports all of them at once."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, position: Position | None, field_path: str, message: str) -> None:
        self.problems.append(Problem(position, field_path, message))

    def raise_if_any(self) -> None:
        if self.problems:
            raise DeclarationError(self.problems)
