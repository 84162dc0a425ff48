"""A fake of Azure Key Vault's secrets REST API, served over HTTPS on loopback.

This is a FAKE of the documented REST API, not Key Vault: no Key Vault emulator can be installed
here. It implements what the `azure-keyvault` store calls through azure-keyvault-secrets, as
Microsoft documents it (https://learn.microsoft.com/rest/api/keyvault/secrets):

- the authentication challenge: a request without a bearer token is answered 401 with
  `WWW-Authenticate: Bearer authorization=..., resource=...`; the SDK then asks its credential
  for a token of that resource and sends the request again. Key Vault's resource is
  `https://vault.azure.net` for `<vault>.vault.azure.net`, and the SDK checks that the vault's
  host ends with the resource's; the fake is `127.0.0.1:<port>`, so it names the resource
  `https://0.0.1:<port>`, and that check runs as it does against Azure;
- `PUT /secrets/{name}` (Set Secret: a new version with value, tags and content type; 409
  `ObjectIsDeletedButRecoverable` while a secret of that name is soft-deleted),
  `GET /secrets/{name}/versions` (Get Secret Versions: properties and tags, never values, paged
  with `maxresults` and `nextLink`), `GET /secrets/{name}/{version}` (Get Secret; an empty
  version is the newest) and `POST /deletedsecrets/{name}/recover` (Recover Deleted Secret;
  the recovered secret answers 404 for `recovery_polls` reads, as recovery takes a while);
- role-based access: each token carries data actions; a call whose action it lacks gets 403
  `ForbiddenByRbac` naming the action, as Key Vault words it;
- the App Service managed identity endpoint (`GET /msi/token` with `X-IDENTITY-HEADER`), so
  that `DefaultAzureCredential` gets a token in a subprocess with no secret (`client_env`);
- canned faults for the next matching calls (`faults`: 429 with Retry-After, 503, ...).

Names are case-insensitive, as in Key Vault; tags are checked against Key Vault's limits (15
tags, names up to 512 and values up to 256 characters).
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from tests.loopback import Answer, Call, RecordingFake, ThrowawayCA

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
API_VERSIONS = re.compile(r"^(7\.\d+|20\d\d-\d\d-\d\d)(-preview)?$")

SET = "Microsoft.KeyVault/vaults/secrets/setSecret/action"
GET = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
READ_METADATA = "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
RECOVER = "Microsoft.KeyVault/vaults/secrets/recover/action"
# The data actions of Azure's built-in roles, as far as secrets go.
ROLES = {
    "Key Vault Secrets Officer": frozenset({SET, GET, READ_METADATA, RECOVER}),
    "Key Vault Secrets User": frozenset({GET, READ_METADATA}),
    "Key Vault Reader": frozenset({READ_METADATA}),
    "none": frozenset(),
}
_NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")


@dataclass
class Version:
    version: str
    value: str
    tags: dict[str, str]
    content_type: str | None
    created: int
    enabled: bool = True


@dataclass
class Secret:
    name: str  # as first written: Key Vault keeps the case and compares without it
    versions: list[Version] = field(default_factory=list)

    @property
    def newest(self) -> Version:
        return self.versions[-1]


def _error(status: int, code: str, message: str, inner: str | None = None) -> Answer:
    error: dict[str, Any] = {"code": code, "message": message}
    if inner:
        error["innererror"] = {"code": inner}
    return Answer(status, {"error": error})


def _not_found(name: str) -> Answer:
    return _error(
        404,
        "SecretNotFound",
        f"A secret with (name/id) {name} was not found in this key vault. If you recently"
        " deleted this secret you may be able to recover it using the correct recovery command.",
    )


class FakeKeyVault(RecordingFake):
    """State and behaviour of the fake; `url` (the vault URL) once started."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[str, Secret] = {}  # by lower-cased name
        self.deleted: dict[str, Secret] = {}
        self.recovering: dict[str, int] = {}  # name -> reads still answered 404
        self.recovery_polls = 0
        self.page_size = 25
        self.tokens: dict[str, frozenset[str]] = {}
        self.identity_header = uuid.uuid4().hex
        self.identity_role = "Key Vault Secrets Officer"

    # -- set-up helpers, as an administrator would act -----------------------------------------

    def token(self, role: str = "Key Vault Secrets Officer") -> str:
        """A new access token whose identity has `role` on the vault."""
        token = "eyJ0eXAi." + uuid.uuid4().hex
        self.tokens[token] = ROLES[role]
        return token

    def soft_delete(self, name: str) -> None:
        """Delete the secret, keeping it recoverable (soft-delete is always on in Key Vault)."""
        with self.lock:
            self.deleted[name.lower()] = self.secrets.pop(name.lower())

    def values(self, name: str) -> list[str]:
        """Every version's value, oldest first."""
        return [v.value for v in self.secrets[name.lower()].versions]

    def client_env(self, ca: ThrowawayCA) -> dict[str, str]:
        """Environment for a process whose DefaultAzureCredential uses the fake's identity."""
        return {
            "IDENTITY_ENDPOINT": f"{self.url}/msi/token",
            "IDENTITY_HEADER": self.identity_header,
            "REQUESTS_CA_BUNDLE": str(ca.ca_file),
        }

    # -- dispatch ------------------------------------------------------------------------------

    def answer(self, call: Call) -> Answer:
        if call.path == "/msi/token":
            return self._managed_identity(call)
        if not API_VERSIONS.match(call.query.get("api-version", "")):
            return _error(400, "BadParameter", "The api-version is missing or not supported.")
        token = (call.authorization or "").removeprefix("Bearer ")
        if token not in self.tokens:
            # The challenge: the SDK first sends each new origin a request without a token.
            challenge = (
                f'Bearer authorization="https://login.microsoftonline.com/{TENANT}",'
                f' resource="https://0.0.1:{self.url.rsplit(":", 1)[1]}"'
            )
            answer = _error(401, "Unauthorized", "AKV10000: Request is missing a Bearer token.")
            answer.headers["WWW-Authenticate"] = challenge
            return answer
        parts = call.path.strip("/").split("/")
        with self.lock:
            return self._route(call, parts, self.tokens[token])

    def _route(self, call: Call, parts: list[str], actions: frozenset[str]) -> Answer:
        method = call.method
        if parts[0] == "secrets" and len(parts) == 2 and method == "PUT":
            return self._allowed(actions, SET, parts[1]) or self._set(call, parts[1])
        if parts[0] == "secrets" and len(parts) == 3 and parts[2] == "versions":
            return self._allowed(actions, READ_METADATA, parts[1]) or self._versions(call, parts[1])
        if parts[0] == "secrets" and len(parts) in (2, 3) and method == "GET":
            version = parts[2] if len(parts) == 3 else ""
            return self._allowed(actions, GET, parts[1]) or self._get(parts[1], version)
        if parts[0] == "deletedsecrets" and parts[2:] == ["recover"] and method == "POST":
            return self._allowed(actions, RECOVER, parts[1]) or self._recover(parts[1])
        return _error(400, "BadParameter", f"No operation {method} {call.path}")

    def _allowed(self, actions: frozenset[str], action: str, name: str) -> Answer | None:
        if action in actions:
            return None
        return _error(
            403,
            "Forbidden",
            "Caller is not authorized to perform action on resource.\r\nIf role assignments,"
            " deny assignments or role definitions were changed recently, please observe"
            " propagation time.\r\nCaller: appid=certgov-tests\r\n"
            f"Action: '{action}'\r\nResource: '/subscriptions/0/resourcegroups/rg/providers/"
            f"microsoft.keyvault/vaults/fake/secrets/{name.lower()}'\r\n"
            "Assignment: (not found)\r\n",
            "ForbiddenByRbac",
        )

    # -- the operations ------------------------------------------------------------------------

    def _id(self, secret: Secret, version: Version) -> str:
        return f"{self.url}/secrets/{secret.name}/{version.version}"

    def _attributes(self, version: Version) -> dict[str, Any]:
        return {
            "enabled": version.enabled,
            "created": version.created,
            "updated": version.created,
            "recoveryLevel": "Recoverable+Purgeable",
            "recoverableDays": 90,
        }

    def _item(self, secret: Secret, version: Version) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": self._id(secret, version),
            "attributes": self._attributes(version),
            "tags": version.tags,
        }
        if version.content_type:
            item["contentType"] = version.content_type
        return item

    def _bundle(self, secret: Secret, version: Version) -> dict[str, Any]:
        return {**self._item(secret, version), "value": version.value}

    def _set(self, call: Call, name: str) -> Answer:
        if not _NAME.match(name):
            return _error(400, "BadParameter", f"The request URI contains an invalid name: {name}")
        body = call.body if isinstance(call.body, dict) else {}
        tags = body.get("tags") or {}
        if not isinstance(body.get("value"), str):
            return _error(400, "BadParameter", "Property value is required.")
        if len(tags) > 15 or any(len(k) > 512 or len(v) > 256 for k, v in tags.items()):
            return _error(400, "BadParameter", "Tags exceed Key Vault's limits.")
        key = name.lower()
        if key in self.deleted:
            return _error(
                409,
                "Conflict",
                f"Secret {name} is currently in a deleted but recoverable state, and its name"
                " cannot be reused; in this state, the secret can only be recovered or purged.",
                "ObjectIsDeletedButRecoverable",
            )
        if key in self.recovering:
            return _error(
                409,
                "Conflict",
                f"Secret {name} is currently being recovered.",
                "ObjectIsBeingRecovered",
            )
        secret = self.secrets.setdefault(key, Secret(name))
        version = Version(
            version=uuid.uuid4().hex,
            value=body["value"],
            tags=dict(tags),
            content_type=body.get("contentType"),
            # Key Vault's times are whole seconds: two versions may share one.
            created=int(time.time()),
        )
        secret.versions.append(version)
        return Answer(200, self._bundle(secret, version))

    def _versions(self, call: Call, name: str) -> Answer:
        secret = self.secrets.get(name.lower())
        if secret is None or name.lower() in self.recovering:
            return _not_found(name)
        size = min(int(call.query.get("maxresults", self.page_size)), self.page_size)
        start = int(call.query.get("$skiptoken", "0"))
        # Newest first here; Key Vault promises no order.
        items = [self._item(secret, v) for v in reversed(secret.versions)]
        page: dict[str, Any] = {"value": items[start : start + size], "nextLink": None}
        if start + size < len(items):
            query = f"api-version={call.query['api-version']}&$skiptoken={start + size}"
            page["nextLink"] = (
                f"{self.url}/secrets/{quote(name)}/versions?{query}&maxresults={size}"
            )
        return Answer(200, page)

    def _get(self, name: str, version: str) -> Answer:
        key = name.lower()
        if key in self.recovering:
            self.recovering[key] -= 1
            if self.recovering[key] <= 0:
                del self.recovering[key]
            return _not_found(name)
        secret = self.secrets.get(key)
        found = [v for v in secret.versions if v.version == version] if secret and version else []
        if secret is None or (version and not found):
            return _not_found(name)
        chosen = found[0] if found else secret.newest
        if not chosen.enabled:
            return _error(403, "Forbidden", "Operation get is not allowed on a disabled secret.")
        return Answer(200, self._bundle(secret, chosen))

    def _recover(self, name: str) -> Answer:
        key = name.lower()
        secret = self.deleted.pop(key, None)
        if secret is None:
            return _error(404, "DeletedSecretNotFound", f"Deleted Secret not found: {name}")
        self.secrets[key] = secret
        if self.recovery_polls:
            self.recovering[key] = self.recovery_polls
        return Answer(200, self._bundle(secret, secret.newest))

    def _managed_identity(self, call: Call) -> Answer:
        if call.headers.get("x-identity-header") != self.identity_header:
            return Answer(401, {"statusCode": 401, "message": "Unauthorized"})
        resource = call.query.get("resource", "")
        expires = int(time.time()) + 3600
        answer = {
            "access_token": self.token(self.identity_role),
            "expires_on": str(expires),
            "resource": resource,
            "token_type": "Bearer",
        }
        return Answer(200, answer)


class StaticCredential:
    """A credential that hands out one token and records the scopes asked for: no identity calls."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)
