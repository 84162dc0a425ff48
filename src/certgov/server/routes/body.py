"""Bodies the rule package validates: read as plain JSON here, documented by a model."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from pydantic import BaseModel

from certgov.server import problems

# Far deeper than any body of the contract (a dry run with an inline policy nests 6 levels), far
# shallower than what the JSON encoder and decoder manage on a thread's stack (about 950 levels,
# less the stack already in use): what reads the body later (the Idempotency-Key digest, the
# audit log) never recurses past what the decoder let through.
MAX_DEPTH = 64


async def json_body(request: Request) -> Any:
    """The parsed JSON body, or VALIDATION_ERROR for a missing, malformed or too deep one."""
    raw = await request.body()
    if not raw.strip():
        raise problems.validation_error([problems.field_problem("body", "required")])
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = getattr(exc, "pos", getattr(exc, "start", 0))
        reason = getattr(exc, "msg", getattr(exc, "reason", str(exc)))
        raise problems.validation_error(
            [problems.field_problem("body", f"malformed JSON at character {where}: {reason}")]
        ) from None
    except RecursionError:
        raise _too_deep() from None
    if _nests_deeper(body, MAX_DEPTH):
        raise _too_deep()
    return body


def _too_deep() -> problems.ApiProblem:
    return problems.validation_error([problems.field_problem("body", problems.TOO_DEEP)])


def _nests_deeper(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` deep (iterative: any depth is safe)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        if depth == limit:
            return True
        stack.extend((child, depth + 1) for child in item)
    return False


def documented_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` naming `model` (registered in the components by the app) as the body."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}
