"""Serving the fakes of tests/ on a free loopback port, over HTTP or over HTTPS with a throwaway CA.

Each fake (GitHub, Vault, Azure Key Vault, Google Secret Manager) answers one `Call` with an
`Answer`; `serve` runs that in a threaded server for the length of a block. `throwaway_ca` makes
a CA and a certificate for 127.0.0.1 signed by it, for clients that insist on TLS (the Azure SDK
refuses to send a bearer token over plain http): point them at `ca_file`, e.g. through
`REQUESTS_CA_BUNDLE`.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certgov.server.ca import new_ca


@dataclass
class Call:
    """One request as a fake saw it; `body` is the JSON body, or None when it is not JSON."""

    method: str
    path: str
    query: dict[str, str]
    authorization: str | None
    headers: dict[str, str]
    body: Any
    raw: bytes = b""
    target: str = ""  # the path with its query, as sent

    def form(self) -> dict[str, str]:
        """The body as a form (application/x-www-form-urlencoded)."""
        return {k: v[-1] for k, v in parse_qs(self.raw.decode()).items()}


@dataclass
class Answer:
    """A status, a body (JSON, a str or bytes sent as is, or None for none) and extra headers.

    The Content-Type is JSON's unless `headers` says otherwise.
    """

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class Faults:
    """Canned answers for the next calls that match, each given once, in the order added."""

    def __init__(self) -> None:
        self._queue: list[tuple[str | None, str, Answer]] = []
        self._lock = threading.Lock()

    def add(
        self, answer: Answer, *, method: str | None = None, path: str = "", times: int = 1
    ) -> None:
        """Answer the next `times` calls with `method` (any if None) whose path contains `path`."""
        with self._lock:
            self._queue.extend([(method, path, answer)] * times)

    def take(self, call: Call) -> Answer | None:
        """The canned answer for `call`, used up; None when none matches."""
        with self._lock:
            for i, (method, path, answer) in enumerate(self._queue):
                if method in (None, call.method) and path in call.path:
                    del self._queue[i]
                    return answer
        return None


class RecordingFake:
    """A fake that records every call and answers canned `faults` before its own `answer`."""

    def __init__(self) -> None:
        self.url = ""
        self.calls: list[Call] = []
        self.faults = Faults()
        self.lock = threading.Lock()
        self.log: Callable[[Call, Answer], None] | None = None  # told of every answer

    def handle(self, call: Call) -> Answer:
        with self.lock:
            self.calls.append(call)
        answer = self.faults.take(call) or self.answer(call)
        if self.log is not None:
            self.log(call, answer)
        return answer

    def answer(self, call: Call) -> Answer:
        raise NotImplementedError

    @contextmanager
    def serving(self, ca: ThrowawayCA) -> Iterator[None]:
        """Serve over HTTPS (a certificate of `ca`) on a free loopback port for the block."""
        with serve(self.handle, tls=ca.server) as self.url:
            yield


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _handler(handle: Callable[[Call], Answer]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            call = Call(
                method=self.command,
                path=parts.path,
                query={k: v[-1] for k, v in parse_qs(parts.query).items()},
                authorization=self.headers.get("Authorization"),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=_json(raw),
                raw=raw,
                target=self.path,
            )
            answer = handle(call)
            body = answer.body
            kind = "application/json; charset=utf-8"
            if isinstance(body, bytes):
                payload, kind = body, "application/octet-stream"
            elif isinstance(body, str):
                payload = body.encode()
            else:
                payload = b"" if body is None else json.dumps(body).encode()
            headers = {"Content-Type": kind, **answer.headers}
            self.send_response(answer.status)
            self.send_header("Content-Length", str(len(payload)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            # Quiet: the tests assert on what the fakes recorded instead.
            pass

    return Handler


@contextmanager
def serve(handle: Callable[[Call], Answer], tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """Serve `handle` on a free loopback port for the block; yields the origin URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(handle))
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    scheme = "https" if tls is not None else "http"
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass(frozen=True)
class ThrowawayCA:
    """A CA made for one test run: `ca_file` for clients, `server` for `serve(tls=...)`."""

    ca_file: Path
    server: ssl.SSLContext


def throwaway_ca(folder: Path) -> ThrowawayCA:
    """A new CA and a server certificate for 127.0.0.1 and localhost, written under `folder`.

    The CA is the reference server's local CA (`new_ca`); it signs the server's certificate
    directly, as no policy needs to see it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    made = new_ca(now)
    ca_key = serialization.load_pem_private_key(made.key_pem.encode(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca_cert = x509.load_pem_x509_certificate(made.cert_pem.encode())
    server_key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = folder / "ca.pem"
    ca_file.write_text(made.cert_pem)
    chain = folder / "server.pem"
    chain.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(chain)
    return ThrowawayCA(ca_file, context)
