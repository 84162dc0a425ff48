"""What the routes share: paging, the documented error answers, list answers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse

from certgov.server.context import client_ip, ip_text, server_of
from certgov.server.models import ErrorEnvelope

PER_PAGE_MAX = 100
# The largest OFFSET both databases take (a signed 64-bit integer); a page further out is past the
# last row of any table all the same, and answers empty instead of overflowing the driver.
MAX_OFFSET = 2**63 - 1
NO_STORE = {"Cache-Control": "no-store"}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error envelope under each status a route can answer."""
    return {status: {"model": ErrorEnvelope} for status in sorted({422, 500, *statuses})}


AUTHENTICATED = (401, 403, 413, 422)


@dataclass(frozen=True)
class Paging:
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return min((self.page - 1) * self.per_page, MAX_OFFSET)

    def meta(self, total: int) -> dict[str, int]:
        return {
            "page": self.page,
            "per_page": self.per_page,
            "total": total,
            "total_pages": math.ceil(total / self.per_page),
        }


def paging(
    page: int = Query(1, ge=1, description="1-based page number"),
    per_page: int = Query(25, ge=1, le=PER_PAGE_MAX, description="items per page, at most 100"),
) -> Paging:
    return Paging(page, per_page)


def listed(data: list[dict[str, Any]], page: Paging, total: int) -> JSONResponse:
    """A page of a list, sent as built. Its items are made to the route's documented model
    (tests hold them to it), so FastAPI's validation of every item against that model, about
    half the cost of a page of 100, is not repeated on each answer."""
    return JSONResponse({"success": True, "data": data, "meta": page.meta(total)})


def rate_limited(family: str) -> Any:
    """A route dependency that takes a token from the caller's bucket of `family`.

    Given in the route's `dependencies`, it runs before the parameters' dependencies, so before
    authentication: a flood without a session is refused before it costs a database read. It
    neither counts toward lockout nor writes an audit event (contract §1).
    """

    def dependency(request: Request) -> None:
        server_of(request).limiter.check(family, ip_text(client_ip(request)) or "unknown")

    return Depends(dependency)
