"""A loopback HTTP/1.1 fault proxy: it sits between certgov and the reference server and, per
request, forwards it, delays it, resets the connection before the request reaches the server,
drops the answer after the server committed, or answers 500/502/503/429 itself.

It understands just enough HTTP/1.1 for httpx and uvicorn (keep-alive connections, bodies with
Content-Length) so that faults hit one request, not one connection. Each client connection gets
its own upstream connection, opened lazily.

    with FaultProxy(upstream_url, rules=[Rule(Fault.RESET, writes, every=5, limit=6)]) as proxy:
        run certgov --url proxy.url ...
    proxy.injected   # [(fault, method, path), ...]
"""

from __future__ import annotations

import enum
import json
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import urlsplit


class Fault(enum.Enum):
    DELAY = "delay"
    CALL = "run an action, then forward"
    RESET = "reset before the server"
    DROP = "drop the answer after the server committed"
    STATUS_500 = "500"
    STATUS_502 = "502"
    STATUS_503 = "503"
    STATUS_429 = "429"


Matcher = Callable[[str, str], bool]


def writes(method: str, path: str) -> bool:
    """Every call that changes the tenant (login and dry runs are not changes)."""
    if method == "GET" or "/service-account/auth" in path:
        return False
    return not path.endswith("/validate")


def any_request(method: str, path: str) -> bool:
    return True


@dataclass
class Rule:
    """Inject `fault` into every `every`-th request that `match` selects, `limit` times at most."""

    fault: Fault
    match: Matcher = any_request
    every: int = 1
    limit: int = 1_000_000
    delay: float = 0.0
    action: Callable[[], None] | None = None
    seen: int = 0
    fired: int = 0

    def take(self, method: str, path: str) -> bool:
        if not self.match(method, path) or self.fired >= self.limit:
            return False
        self.seen += 1
        if self.seen % self.every:
            return False
        self.fired += 1
        return True


class _Closed(Exception):
    """The peer closed the connection between messages."""


def _read_message(sock: socket.socket, buffer: bytearray) -> bytes:
    """One whole HTTP/1.1 message (head and Content-Length body) from `sock`."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise _Closed
        buffer += chunk
    end = buffer.index(b"\r\n\r\n") + 4
    head = bytes(buffer[:end])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        lowered = name.strip().lower()
        if lowered == b"content-length":
            length = int(value.strip())
        elif lowered == b"transfer-encoding":
            raise ValueError("the fault proxy handles Content-Length bodies only")
    while len(buffer) < end + length:
        chunk = sock.recv(65536)
        if not chunk:
            raise _Closed
        buffer += chunk
    message = bytes(buffer[: end + length])
    del buffer[: end + length]
    return message


def _reset(sock: socket.socket) -> None:
    """Close with a TCP RST rather than a FIN: the client sees 'connection reset'."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _status_answer(status: int) -> bytes:
    reasons = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
    reasons[429] = "Too Many Requests"
    codes = {500: "INTERNAL", 502: "BAD_GATEWAY", 503: "UNAVAILABLE", 429: "TOO_MANY_REQUESTS"}
    error = {"code": codes[status], "message": "injected by the fault proxy"}
    body = json.dumps({"success": False, "error": error}).encode()
    headers = [
        f"HTTP/1.1 {status} {reasons[status]}",
        "content-type: application/json",
        f"content-length: {len(body)}",
    ]
    if status == 429:
        headers.append("retry-after: 1")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


@dataclass
class FaultProxy:
    """The proxy on a free loopback port; use as a context manager."""

    upstream: str
    rules: list[Rule] = field(default_factory=list)
    injected: list[tuple[Fault, str, str]] = field(default_factory=list)
    requests: int = 0

    def __post_init__(self) -> None:
        parts = urlsplit(self.upstream)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._lock = threading.Lock()
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._serve(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def _choose(self, method: str, path: str) -> Rule | None:
        with self._lock:
            self.requests += 1
            for rule in self.rules:
                if rule.take(method, path):
                    self.injected.append((rule.fault, method, path))
                    return rule
        return None

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        from_client, from_upstream = bytearray(), bytearray()
        try:
            while True:
                try:
                    request = _read_message(client, from_client)
                except (_Closed, OSError):
                    return
                method, path = request.split(b" ", 2)[:2]
                rule = self._choose(method.decode(), path.decode().split("?")[0])
                fault = rule.fault if rule else None
                if fault is Fault.RESET:
                    _reset(client)
                    return
                if fault is not None and fault.value.isdigit():
                    client.sendall(_status_answer(int(fault.value)))
                    continue
                if fault is Fault.DELAY and rule is not None:
                    time.sleep(rule.delay)
                if fault is Fault.CALL and rule is not None and rule.action is not None:
                    rule.action()
                if upstream is None:
                    upstream = socket.create_connection(self._target, timeout=60)
                upstream.sendall(request)
                answer = _read_message(upstream, from_upstream)
                if fault is Fault.DROP:
                    _reset(client)
                    return
                client.sendall(answer)
        except (_Closed, OSError):
            return
        finally:
            if upstream is not None:
                upstream.close()
            client.close()
