"""The server's own errors: each one becomes the contract's error envelope (§1)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Details = Sequence[Mapping[str, Any]] | Mapping[str, Any]
TOO_DEEP = "malformed JSON: nested too deeply to be read"


class ApiProblem(Exception):
    """A refusal the server answers with `{"success": false, "error": {...}}`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Details | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details: Details = details if details is not None else []
        self.headers: dict[str, str] = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {
            "success": False,
            "error": {"code": self.code, "message": self.message, "details": self.details},
        }


def field_problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def validation_error(
    details: Sequence[Mapping[str, Any]], message: str = "the request is invalid"
) -> ApiProblem:
    return ApiProblem(422, "VALIDATION_ERROR", message, details)


def invalid_credentials() -> ApiProblem:
    return ApiProblem(401, "INVALID_CREDENTIALS", "invalid credentials")


def invalid_session() -> ApiProblem:
    return ApiProblem(401, "INVALID_SESSION", "the session token is missing, unknown or revoked")


def not_found(kind: str, ident: str) -> ApiProblem:
    return ApiProblem(404, "NOT_FOUND", f"no {kind} with id {ident}")


def conflict(message: str) -> ApiProblem:
    return ApiProblem(409, "CONFLICT", message)


def too_many_requests(retry_after: int, message: str) -> ApiProblem:
    return ApiProblem(
        429, "TOO_MANY_REQUESTS", message, headers={"Retry-After": str(max(1, retry_after))}
    )


def precondition_failed(current: Mapping[str, Any]) -> ApiProblem:
    return ApiProblem(
        412,
        "PRECONDITION_FAILED",
        "If-Match does not match the current ETag: the object changed since it was read",
        dict(current),
    )
