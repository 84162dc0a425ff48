"""ASGI middleware: the 1 MiB body limit and an access log that never sees headers or bodies."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from certgov.server.netaddr import IPNetwork, client_address
from certgov.server.problems import ApiProblem

access_log = logging.getLogger("certgov.server.access")


class BodyLimit:
    """Answers 413 PAYLOAD_TOO_LARGE before any route reads a body over the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        # Read the body here (it is at most max_bytes) and hand it on; chunked bodies without a
        # Content-Length are caught by counting.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        problem = ApiProblem(
            413, "PAYLOAD_TOO_LARGE", f"the request body is over {self.max_bytes} bytes"
        )
        payload = json.dumps(problem.body()).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


class AccessLog:
    """One line per request: client address, method, path (no query string), status."""

    def __init__(self, app: ASGIApp, trusted: tuple[IPNetwork, ...]) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            access_log.info(
                '%s "%s %s" %d',
                self._client(scope),
                scope["method"],
                scope["path"],
                status,
            )

    def _client(self, scope: Scope) -> str:
        client: Any = scope.get("client")
        headers = [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
        addr = client_address(client[0] if client else None, headers, self.trusted)
        return "-" if addr is None else str(addr)
