"""A fake of HashiCorp Vault's HTTP API, served over loopback for the `vault` store tests.

This is a FAKE, not Vault: a small threaded HTTP server implementing the parts of Vault's HTTP
API the `vault` store uses, as Vault documents them — KV version 2 (`GET/POST
/v1/<mount>/data/<path>` with versions and `options.cas`, `GET /v1/<mount>/metadata/<path>`),
AppRole login (`POST /v1/auth/approle/login`) and token checking (`X-Vault-Token`, 403
`permission denied`). No Vault server can be installed here.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.loopback import Answer, Call, serve


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class _Secret:
    versions: dict[int, dict[str, Any]] = field(default_factory=dict)  # version -> data
    created: dict[int, str] = field(default_factory=dict)

    @property
    def current(self) -> int:
        return max(self.versions, default=0)


class FakeVault:
    """State and behaviour of the fake; `url` once started."""

    def __init__(self, mount: str = "secret") -> None:
        self.mount = mount
        self.root_token = "root-" + uuid.uuid4().hex
        self.tokens: set[str] = {self.root_token}
        self.approles: dict[str, str] = {}  # role_id -> secret_id
        self.secrets: dict[str, _Secret] = {}
        self.requests: list[tuple[str, str]] = []
        # One-shot hooks run when a metadata read of a path is answered, to play a concurrent
        # writer getting in between a client's read and its write.
        self.after_metadata_read: dict[str, Callable[[], None]] = {}
        self.lock = threading.Lock()
        self.url = ""

    def add_approle(self) -> tuple[str, str]:
        role_id, secret_id = str(uuid.uuid4()), str(uuid.uuid4())
        self.approles[role_id] = secret_id
        return role_id, secret_id

    def put(self, path: str, data: dict[str, Any]) -> int:
        """Write a version directly, as another client would."""
        with self.lock:
            entry = self.secrets.setdefault(path, _Secret())
            version = entry.current + 1
            entry.versions[version] = data
            entry.created[version] = _now()
            return version

    # -- request handling: (status, body) -------------------------------------------------

    def handle(self, method: str, target: str, token: str | None, body: Any) -> tuple[int, Any]:
        url = urlsplit(target)
        self.requests.append((method, url.path))
        if url.path == "/v1/auth/approle/login" and method in ("POST", "PUT"):
            return self._login(body)
        if token not in self.tokens:
            return 403, {"errors": ["permission denied"]}
        prefix = f"/v1/{self.mount}/"
        if not url.path.startswith(prefix):
            return 404, {"errors": [f"no handler for route {url.path[4:]!r}"]}
        kind, _, path = url.path[len(prefix) :].partition("/")
        if kind == "data" and method == "GET":
            version = parse_qs(url.query).get("version", ["0"])[0]
            return self._read(path, int(version))
        if kind == "data" and method in ("POST", "PUT"):
            return self._write(path, body)
        if kind == "metadata" and method == "GET":
            answer = self._metadata(path)
            # The other writer gets in after the answer was computed and before it is sent:
            # deterministic, unlike racing the client's next request.
            hook = self.after_metadata_read.pop(path, None)
            if hook is not None:
                hook()
            return answer
        return 405, {"errors": ["unsupported operation"]}

    def _login(self, body: Any) -> tuple[int, Any]:
        role_id, secret_id = body.get("role_id"), body.get("secret_id")
        if role_id not in self.approles or self.approles[role_id] != secret_id:
            return 400, {"errors": ["invalid role or secret ID"]}
        token = "hvs." + uuid.uuid4().hex
        self.tokens.add(token)
        auth = {"client_token": token, "lease_duration": 3600, "renewable": True}
        return 200, {"auth": auth, "data": None}

    def _read(self, path: str, version: int) -> tuple[int, Any]:
        with self.lock:
            entry = self.secrets.get(path)
            if entry is None:
                return 404, {"errors": []}
            version = version or entry.current
            if version not in entry.versions:
                return 404, {"errors": []}
            meta = {
                "created_time": entry.created[version],
                "custom_metadata": None,
                "deletion_time": "",
                "destroyed": False,
                "version": version,
            }
            return 200, {"data": {"data": entry.versions[version], "metadata": meta}}

    def _write(self, path: str, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            return 400, {"errors": ["no data provided"]}
        cas = (body.get("options") or {}).get("cas")
        with self.lock:
            entry = self.secrets.get(path)
            current = entry.current if entry else 0
            # As documented: with cas set, the write succeeds only if cas is the current version
            # (0: only if the key does not exist yet).
            if cas is not None and int(cas) != current:
                return 400, {
                    "errors": ["check-and-set parameter did not match the current version"]
                }
        version = self.put(path, body["data"])
        created = self.secrets[path].created[version]
        data = {
            "created_time": created,
            "deletion_time": "",
            "destroyed": False,
            "version": version,
        }
        return 200, {"data": data}

    def _metadata(self, path: str) -> tuple[int, Any]:
        with self.lock:
            entry = self.secrets.get(path)
            if entry is None:
                return 404, {"errors": []}
            versions = {
                str(v): {"created_time": c, "deletion_time": "", "destroyed": False}
                for v, c in entry.created.items()
            }
            data = {
                "cas_required": False,
                "current_version": entry.current,
                "max_versions": 0,
                "oldest_version": 0,
                "versions": versions,
            }
        return 200, {"data": data}


@contextmanager
def serving(fake: FakeVault) -> Iterator[FakeVault]:
    """Serve `fake` on a free loopback port for the duration of the block."""

    def handle(call: Call) -> Answer:
        token = call.headers.get("x-vault-token")
        status, body = fake.handle(call.method, call.target, token, call.body)
        # hvac reads error texts only from exactly this Content-Type, as Vault sends it.
        return Answer(status, body, {"Content-Type": "application/json"})

    with serve(handle) as fake.url:
        yield fake
