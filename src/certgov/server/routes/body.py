"""Bodies the rule package validates: read as plain JSON here, documented by a model."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from pydantic import BaseModel

from certgov.server import problems


async def json_body(request: Request) -> Any:
    """The parsed JSON body, or VALIDATION_ERROR for a missing or malformed one."""
    raw = await request.body()
    if not raw.strip():
        raise problems.validation_error([problems.field_problem("body", "required")])
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = getattr(exc, "pos", getattr(exc, "start", 0))
        reason = getattr(exc, "msg", getattr(exc, "reason", str(exc)))
        raise problems.validation_error(
            [problems.field_problem("body", f"malformed JSON at character {where}: {reason}")]
        ) from None


def documented_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` naming `model` (registered in the components by the app) as the body."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}
