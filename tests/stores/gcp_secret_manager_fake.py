"""A fake of Google Secret Manager's REST API (v1), served over HTTPS on loopback.

This is a FAKE of the documented REST API, not Secret Manager: no emulator of it can be
installed here. It implements what the `gcp-secret-manager` store calls through
google-cloud-secret-manager's REST transport, as Google documents it
(https://cloud.google.com/secret-manager/docs/reference/rest):

- `GET /v1/projects/{p}/secrets/{s}` (the secret with its labels, no payload),
  `POST /v1/projects/{p}/secrets?secretId=` (create; 409 ALREADY_EXISTS),
  `POST /v1/projects/{p}/secrets/{s}:addVersion` (404 NOT_FOUND when there is no such secret),
  `PATCH /v1/projects/{p}/secrets/{s}?updateMask=labels` and
  `GET /v1/projects/{p}/secrets/{s}/versions/{v}:access` (the payload; `latest` is the newest);
- secret ids and labels checked by Google's rules: ids of `[A-Za-z0-9_-]`, 1-255 characters;
  label keys starting with a lower-case letter, keys and values of lower-case letters, digits,
  `_` and `-`, at most 63 characters, at most 64 labels (400 INVALID_ARGUMENT otherwise);
- IAM: each bearer token carries permissions; a call whose permission it lacks gets 403
  PERMISSION_DENIED naming the permission, as Secret Manager words it; an unknown token 401;
- Security Token Service token exchange (`POST /v1/token`), so that Application Default
  Credentials of type `external_account` (workload identity federation, as
  google-github-actions/auth writes them) get a token in a subprocess with no key
  (`client_env`). Its audience names no project number, unlike a real pool's: google-auth would
  then look up the project at cloudresourcemanager.googleapis.com, which is not here;
- canned faults for the next matching calls (`faults`: 429, 503, ...).

Resource names come back with the project number, as Secret Manager's do.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.loopback import Answer, Call, RecordingFake, ThrowawayCA

PROJECT_NUMBER = "123456789012"
AUDIENCE = "//iam.googleapis.com/locations/global/workloadIdentityPools/github/providers/certgov"
GET = "secretmanager.secrets.get"
CREATE = "secretmanager.secrets.create"
UPDATE = "secretmanager.secrets.update"
ADD = "secretmanager.versions.add"
ACCESS = "secretmanager.versions.access"
# The permissions of Google's predefined roles, as far as the store goes.
ROLES = {
    "roles/secretmanager.admin": frozenset({GET, CREATE, UPDATE, ADD, ACCESS}),
    "roles/secretmanager.secretVersionAdder": frozenset({ADD}),
    "roles/secretmanager.viewer": frozenset({GET}),
}
_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
_SECRET = re.compile(r"^/v1/projects/([^/]+)/secrets/([^/:]+)(:addVersion)?$")
_ACCESS = re.compile(r"^/v1/projects/([^/]+)/secrets/([^/]+)/versions/([^/:]+):access$")


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Secret:
    labels: dict[str, str] = field(default_factory=dict)
    versions: list[bytes] = field(default_factory=list)
    created: str = field(default_factory=_now)


def _error(code: int, status: str, message: str) -> Answer:
    return Answer(code, {"error": {"code": code, "message": message, "status": status}})


def _labels_problem(labels: Any) -> str | None:
    if not isinstance(labels, dict) or len(labels) > 64:
        return "A secret can have at most 64 labels."
    for key, value in labels.items():
        if not _LABEL_KEY.match(key):
            return f"Label key '{key}' violates format constraints."
        if not isinstance(value, str) or not _LABEL_VALUE.match(value):
            return f"Label value '{value}' violates format constraints."
    return None


class FakeSecretManager(RecordingFake):
    """State and behaviour of the fake; `url` (the API endpoint) once started."""

    def __init__(self, project: str = "certgov-test") -> None:
        super().__init__()
        self.project = project
        self.secrets: dict[str, Secret] = {}  # by secret id
        self.tokens: dict[str, frozenset[str]] = {}
        self.subject_token = "eyJhbGciOiJSUzI1NiJ9." + uuid.uuid4().hex  # the CI's OIDC token
        self.federated_role = "roles/secretmanager.admin"

    # -- set-up helpers, as an administrator would act -----------------------------------------

    def token(self, *roles: str) -> str:
        """A new access token whose identity has `roles` (roles/secretmanager.admin if none)."""
        token = "ya29." + uuid.uuid4().hex
        granted = roles or ("roles/secretmanager.admin",)
        self.tokens[token] = frozenset().union(*(ROLES[r] for r in granted))
        return token

    def payloads(self, secret_id: str) -> list[dict[str, Any]]:
        """Every version's payload as JSON, oldest first."""
        return [json.loads(data) for data in self.secrets[secret_id].versions]

    def client_env(self, ca: ThrowawayCA, folder: Path) -> dict[str, str]:
        """Environment for a process whose ADC federate an OIDC token through the fake's STS."""
        token_file = folder / "oidc-token"
        token_file.write_text(self.subject_token)
        config = folder / "gcp-credentials.json"
        config.write_text(
            json.dumps(
                {
                    "type": "external_account",
                    "audience": AUDIENCE,
                    "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
                    "token_url": f"{self.url}/v1/token",
                    "credential_source": {"file": str(token_file)},
                }
            )
        )
        return {
            "GOOGLE_APPLICATION_CREDENTIALS": str(config),
            "REQUESTS_CA_BUNDLE": str(ca.ca_file),
        }

    # -- dispatch ------------------------------------------------------------------------------

    def answer(self, call: Call) -> Answer:
        if call.path == "/v1/token" and call.method == "POST":
            return self._exchange(call.form())
        token = (call.authorization or "").removeprefix("Bearer ")
        if token not in self.tokens:
            return _error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token.",
            )
        with self.lock:
            return self._route(call, self.tokens[token])

    def _route(self, call: Call, granted: frozenset[str]) -> Answer:
        access = _ACCESS.match(call.path)
        if access and call.method == "GET":
            return self._allowed(granted, ACCESS, call.path) or self._access(*access.groups())
        match = _SECRET.match(call.path)
        if call.method == "POST" and call.path == f"/v1/projects/{self.project}/secrets":
            return self._allowed(granted, CREATE, call.path) or self._create(call)
        if match is None or match.group(1) != self.project:
            return _error(404, "NOT_FOUND", f"No route for {call.method} {call.path}")
        secret_id, add = match.group(2), match.group(3)
        if add and call.method == "POST":
            return self._allowed(granted, ADD, call.path) or self._add(secret_id, call.body)
        if not add and call.method == "GET":
            return self._allowed(granted, GET, call.path) or self._get(secret_id)
        if not add and call.method == "PATCH":
            return self._allowed(granted, UPDATE, call.path) or self._update(secret_id, call)
        return _error(404, "NOT_FOUND", f"No route for {call.method} {call.path}")

    def _allowed(self, granted: frozenset[str], permission: str, path: str) -> Answer | None:
        if permission in granted:
            return None
        resource = path.removeprefix("/v1/").split(":")[0]
        return _error(
            403,
            "PERMISSION_DENIED",
            f"Permission '{permission}' denied for resource '{resource}' (or it may not exist).",
        )

    # -- the operations ------------------------------------------------------------------------

    def _name(self, secret_id: str) -> str:
        return f"projects/{PROJECT_NUMBER}/secrets/{secret_id}"

    def _resource(self, secret_id: str) -> dict[str, Any]:
        secret = self.secrets[secret_id]
        return {
            "name": self._name(secret_id),
            "replication": {"automatic": {}},
            "createTime": secret.created,
            "labels": secret.labels,
            "etag": f'"{len(secret.versions)}-{len(secret.labels)}"',
        }

    def _not_found(self, secret_id: str) -> Answer:
        return _error(
            404, "NOT_FOUND", f"Secret [{self._name(secret_id)}] not found or has no versions."
        )

    def _get(self, secret_id: str) -> Answer:
        if secret_id not in self.secrets:
            return self._not_found(secret_id)
        return Answer(200, self._resource(secret_id))

    def _create(self, call: Call) -> Answer:
        secret_id = call.query.get("secretId", "")
        body = call.body if isinstance(call.body, dict) else {}
        if not _ID.match(secret_id):
            return _error(
                400,
                "INVALID_ARGUMENT",
                "Secret ID must match [a-zA-Z_0-9-]+ and be at most 255 characters.",
            )
        if "automatic" not in (body.get("replication") or {}):
            return _error(400, "INVALID_ARGUMENT", "Replication policy is required.")
        problem = _labels_problem(body.get("labels") or {})
        if problem:
            return _error(400, "INVALID_ARGUMENT", problem)
        if secret_id in self.secrets:
            return _error(
                409, "ALREADY_EXISTS", f"Secret [{self._name(secret_id)}] already exists."
            )
        self.secrets[secret_id] = Secret(labels=dict(body.get("labels") or {}))
        return Answer(200, self._resource(secret_id))

    def _add(self, secret_id: str, body: Any) -> Answer:
        secret = self.secrets.get(secret_id)
        if secret is None:
            return self._not_found(secret_id)
        data = ((body or {}).get("payload") or {}).get("data")
        if not isinstance(data, str):
            return _error(400, "INVALID_ARGUMENT", "Payload is required.")
        secret.versions.append(base64.b64decode(data))
        version = {
            "name": f"{self._name(secret_id)}/versions/{len(secret.versions)}",
            "createTime": _now(),
            "state": "ENABLED",
            "replicationStatus": {"automatic": {}},
            "etag": f'"{uuid.uuid4().hex}"',
        }
        return Answer(200, version)

    def _update(self, secret_id: str, call: Call) -> Answer:
        if secret_id not in self.secrets:
            return self._not_found(secret_id)
        if call.query.get("updateMask") != "labels":
            return _error(400, "INVALID_ARGUMENT", "Only labels can be updated here.")
        labels = (call.body or {}).get("labels") or {}
        problem = _labels_problem(labels)
        if problem:
            return _error(400, "INVALID_ARGUMENT", problem)
        self.secrets[secret_id].labels = dict(labels)
        return Answer(200, self._resource(secret_id))

    def _access(self, project: str, secret_id: str, version: str) -> Answer:
        secret = self.secrets.get(secret_id)
        if project != self.project or secret is None or not secret.versions:
            return self._not_found(secret_id)
        number = len(secret.versions) if version == "latest" else int(version)
        data = secret.versions[number - 1]
        name = f"{self._name(secret_id)}/versions/{number}"
        return Answer(200, {"name": name, "payload": {"data": base64.b64encode(data).decode()}})

    def _exchange(self, form: dict[str, str]) -> Answer:
        """Security Token Service: an OIDC token of the CI for an access token."""
        if form.get("subject_token") != self.subject_token or form.get("audience") != AUDIENCE:
            return Answer(400, {"error": "invalid_grant", "error_description": "Invalid token."})
        return Answer(
            200,
            {
                "access_token": self.token(self.federated_role),
                "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                "token_type": "Bearer",
                "expires_in": 3600,
            },
        )
