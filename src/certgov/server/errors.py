"""The one place that builds the error envelope, for every error the app can meet."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from certgov.server.problems import TOO_DEEP, ApiProblem
from certgov.server.store.errors import AuditUnavailable, NameTaken, StoreError

log = logging.getLogger("certgov.server")

_MESSAGES = {
    "missing": "required",
    "extra_forbidden": "unknown field",
}
_HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
# The contract's (status, code) for each refusal of the store.
_STORE_CODES: dict[type[StoreError], tuple[int, str]] = {
    NameTaken: (409, "CONFLICT"),
    AuditUnavailable: (503, "AUDIT_UNAVAILABLE"),
}


def as_problem(error: ApiProblem | StoreError) -> ApiProblem:
    """The envelope a refusal answers with, whether the server or its store refused."""
    if isinstance(error, ApiProblem):
        return error
    status, code = _STORE_CODES[type(error)]
    return ApiProblem(status, code, str(error))


def field_path(loc: Sequence[Any]) -> str:
    """('body', 'rules', 2, 'values', 'x') -> 'rules[2].values.x'; the location kind is dropped."""
    parts = list(loc[1:]) if loc and loc[0] in ("body", "query", "path", "header") else list(loc)
    if not parts:
        return str(loc[0]) if loc else ""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "json_invalid":
        offset = error.get("loc", ("body", "?"))[-1]
        reason = error.get("ctx", {}).get("error", "cannot be parsed")
        return f"malformed JSON at character {offset}: {reason}"
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    message = str(error.get("msg", "invalid"))
    return message.removeprefix("Value error, ")


def _undecodable(cause: BaseException) -> str:
    if isinstance(cause, UnicodeDecodeError):
        return f"malformed JSON at byte {cause.start}: the body is not UTF-8 text"
    if isinstance(cause, RecursionError):
        return TOO_DEEP
    return "malformed JSON: the body cannot be decoded"


def _problem_response(problem: ApiProblem) -> JSONResponse:
    return JSONResponse(problem.body(), problem.status, problem.headers)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into the contract's envelope."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiProblem)
        return _problem_response(exc)

    async def on_store_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StoreError)
        return _problem_response(as_problem(exc))

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        details = []
        for error in exc.errors():
            loc = error.get("loc", ())
            # A JSON syntax error's location is the character offset, not a field.
            where = "body" if error.get("type") == "json_invalid" else field_path(loc)
            details.append({"field": where, "message": _message(error)})
        # One problem per field and message, in a stable order.
        unique = sorted({json.dumps(d, sort_keys=True) for d in details})
        problem = ApiProblem(
            422, "VALIDATION_ERROR", "the request is invalid", [json.loads(d) for d in unique]
        )
        return _problem_response(problem)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400 and exc.__cause__ is not None:
            # FastAPI answers 400 for a JSON body its decoder fails on other than by a syntax
            # error (bytes that are not UTF-8, nesting past the stack); the contract says 422.
            details = [{"field": "body", "message": _undecodable(exc.__cause__)}]
            return _problem_response(
                ApiProblem(422, "VALIDATION_ERROR", "the request is invalid", details)
            )
        code = _HTTP_CODES.get(exc.status_code, f"HTTP_{exc.status_code}")
        problem = ApiProblem(exc.status_code, code, str(exc.detail), [], exc.headers)
        return _problem_response(problem)

    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return _problem_response(ApiProblem(500, "INTERNAL_ERROR", "internal server error"))

    app.add_exception_handler(ApiProblem, on_problem)
    app.add_exception_handler(StoreError, on_store_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)
