"""A small in-test fake of the CLM API (docs/api.md), served through httpx.MockTransport.

It keeps policies and service accounts in memory with ETags, pages lists, checks bearer tokens
and If-Match, and records every request. `script()` queues canned answers (or transport errors)
for one method and path, consumed before the fake's own behaviour, to stage failures.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from certgov.client import Credentials, RetryPolicy

BASE = "http://clm.test"
UUID = "550e8400-e29b-41d4-a716-446655440000"
CLIENT_ID = "svc_" + "a" * 32
SECRET = "S3cr3t" + "x" * 58
CREDS = Credentials(UUID, CLIENT_ID, SECRET)
NOW = "2026-03-24T10:00:00+00:00"

Scripted = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def error(
    status: int, code: str, message: str = "", details: Any = None, **headers: str
) -> httpx.Response:
    """An answer in the contract's error envelope."""
    body: dict[str, Any] = {"success": False, "error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    return httpx.Response(status, json=body, headers=headers)


def policy_obj(pid: int, name: str, **extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": pid,
        "name": name,
        "description": "",
        "is_enabled": False,
        "matching_criteria": {"action": "certificate.generate", "domains": ["example.com"]},
        "rules": [],
        "created_at": NOW,
        "updated_at": NOW,
    }
    obj.update(extra)
    return obj


def account_obj(uuid: str, name: str, **extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "uuid": uuid,
        "client_id": "svc_" + uuid.replace("-", "")[:32],
        "name": name,
        "description": "",
        "scopes": ["read"],
        "ip_allowlist": [],
        "expires_at": None,
        "is_active": True,
        "secret_created_at": NOW,
        "last_used_at": None,
        "created_at": NOW,
        "updated_at": NOW,
    }
    obj.update(extra)
    return obj


@dataclass
class FakeApi:
    """The fake server's state and its request handler."""

    scopes: list[str] = field(default_factory=lambda: ["read", "write", "admin"])
    expires_in: int = 86400
    policies: dict[int, dict[str, Any]] = field(default_factory=dict)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    revisions: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    tokens: set[str] = field(default_factory=set)
    revoked: list[str] = field(default_factory=list)
    logins: int = 0
    requests: list[httpx.Request] = field(default_factory=list)
    scripts: dict[tuple[str, str], deque[Scripted]] = field(
        default_factory=lambda: defaultdict(deque)
    )
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- staging ----------------------------------------------------------------------------

    def script(self, method: str, path: str, *answers: Scripted) -> None:
        """Queue answers for `method /api/v1<path>`, served before the fake's own behaviour."""
        self.scripts[(method, "/api/v1" + path)].extend(answers)

    def add_policy(self, name: str, **extra: Any) -> dict[str, Any]:
        pid = len(self.policies) + 1
        self.policies[pid] = policy_obj(pid, name, **extra)
        self.revisions[str(pid)] = 1
        return self.policies[pid]

    def add_account(self, name: str, **extra: Any) -> dict[str, Any]:
        uuid = f"00000000-0000-4000-8000-{len(self.accounts) + 1:012d}"
        self.accounts[uuid] = account_obj(uuid, name, **extra)
        self.revisions[uuid] = 1
        return self.accounts[uuid]

    def etag(self, key: object) -> str:
        return f'"{key}-{self.revisions[str(key)]}"'

    def paths(self) -> list[str]:
        """Every request as `METHOD path?query`, in arrival order."""
        out = []
        for r in self.requests:
            query = f"?{r.url.query.decode()}" if r.url.query else ""
            out.append(f"{r.method} {r.url.path}{query}")
        return out

    # -- serving ----------------------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            queue = self.scripts.get((request.method, request.url.path))
            scripted = queue.popleft() if queue else None
        if isinstance(scripted, Exception):
            raise scripted
        if isinstance(scripted, httpx.Response):
            return scripted
        if scripted is not None:
            return scripted(request)
        return self.serve(request)

    def serve(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v1")
        method = request.method
        if (method, path) == ("POST", "/service-account/auth"):
            return self.login(json.loads(request.content))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            return error(401, "INVALID_SESSION", "unknown token")
        if path == "/service-account/auth/verify":
            return httpx.Response(
                200, json={"success": True, "valid": True, **self.session_body(token)}
            )
        if path == "/service-account/auth/revoke":
            self.tokens.discard(token)
            self.revoked.append(token)
            return httpx.Response(200, json={"success": True})
        if path == "/service/policies" and method == "GET":
            return self.page(request, list(self.policies.values()), keyed="id")
        if path == "/service/service-accounts" and method == "GET":
            return self.page(request, list(self.accounts.values()), keyed="uuid")
        if path == "/service/audit-events":
            return self.page(request, self.events, keyed=None)
        if path == "/service/policies/validate":
            return httpx.Response(
                200, json={"success": True, "data": {"result": "pass", "allowed": True}}
            )
        if path == "/service/certificates":
            body = json.loads(request.content)
            return httpx.Response(
                201, json={"success": True, "data": {"result": "pass", "cn": body["common_name"]}}
            )
        return self.object_call(request, method, path)

    def login(self, body: dict[str, Any]) -> httpx.Response:
        if (body.get("uuid"), body.get("client_id"), body.get("client_secret")) != (
            UUID,
            CLIENT_ID,
            SECRET,
        ):
            return error(401, "INVALID_CREDENTIALS", "invalid credentials")
        with self.lock:
            self.logins += 1
            token = f"token{self.logins}"
            self.tokens.add(token)
        return httpx.Response(
            200, json={"success": True, **self.session_body(token, with_token=True)}
        )

    def session_body(self, token: str, *, with_token: bool = False) -> dict[str, Any]:
        session: dict[str, Any] = {
            "expires_at": "2026-03-25T10:00:00+00:00",
            "expires_in": self.expires_in,
        }
        if with_token:
            session = {"token": token, "token_type": "Bearer", **session}
        account = {"uuid": UUID, "name": "CI/CD Pipeline Account", "scopes": self.scopes}
        return {"service_account": account, "session": session}

    def page(
        self, request: httpx.Request, items: list[dict[str, Any]], keyed: str | None
    ) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        per_page = int(request.url.params.get("per_page", "25"))
        if per_page > 100:
            return error(
                422,
                "VALIDATION_ERROR",
                "per_page",
                [{"field": "per_page", "message": "at most 100"}],
            )
        if keyed is not None:
            items = sorted(items, key=lambda o: o["name"])
            items = [{**o, "etag": self.etag(o[keyed])} for o in items]
        total_pages = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        meta = {"page": page, "per_page": per_page, "total": len(items), "total_pages": total_pages}
        return httpx.Response(200, json={"success": True, "data": chunk, "meta": meta})

    def object_call(self, request: httpx.Request, method: str, path: str) -> httpx.Response:
        parts = path.strip("/").split("/")  # service, policies|service-accounts, [id], [verb]
        store: dict[Any, dict[str, Any]] = (
            self.policies if parts[1] == "policies" else self.accounts
        )
        body = json.loads(request.content) if request.content else {}
        if len(parts) == 2 and method == "POST":
            return self.create(store, parts[1], body)
        key: Any = int(parts[2]) if parts[1] == "policies" else parts[2]
        obj = store.get(key)
        if obj is None:
            return error(404, "NOT_FOUND", f"{parts[1]} {key} not found")
        if_match = request.headers.get("If-Match")
        if method != "GET" and if_match is not None and if_match != self.etag(key):
            return error(
                412, "PRECONDITION_FAILED", "etag mismatch", {**obj, "etag": self.etag(key)}
            )
        verb = parts[3] if len(parts) > 3 else None
        extra: dict[str, Any] = {}
        if method == "DELETE":
            del store[key]
            return httpx.Response(200, json={"success": True})
        if method == "PUT":
            obj.update(body)
        elif verb in ("enable", "disable"):
            obj["is_enabled" if parts[1] == "policies" else "is_active"] = verb == "enable"
        elif verb == "regenerate-secret":
            extra["credentials"] = {"client_id": obj["client_id"], "client_secret": "N" * 64}
        if method != "GET":
            self.revisions[str(key)] += 1
        return httpx.Response(
            200, json={"success": True, "data": obj, **extra}, headers={"ETag": self.etag(key)}
        )

    def create(
        self, store: dict[Any, dict[str, Any]], kind: str, body: dict[str, Any]
    ) -> httpx.Response:
        if any(o["name"] == body["name"] for o in store.values()):
            noun = "policy" if kind == "policies" else "service account"
            return error(409, "CONFLICT", f"a {noun} named {body['name']!r} exists")
        extra: dict[str, Any] = {}
        if kind == "policies":
            obj = self.add_policy(body.pop("name"), **body)
            key: object = obj["id"]
        else:
            obj = self.add_account(body.pop("name"), **body)
            key = obj["uuid"]
            extra["credentials"] = {"client_id": obj["client_id"], "client_secret": "G" * 64}
        return httpx.Response(
            201, json={"success": True, "data": obj, **extra}, headers={"ETag": self.etag(key)}
        )


@dataclass
class Sleeps:
    """A recording stand-in for time.sleep that also advances a fake clock."""

    calls: list[float] = field(default_factory=list)
    now: float = 0.0

    def sleep(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


# Retries with the jitter pinned to its upper bound, so that every wait is known.
PINNED = RetryPolicy(
    max_attempts=4, base_delay=0.5, max_delay=4.0, max_elapsed=60.0, jitter=lambda cap: cap
)
