"""The `gcp-secret-manager` store: Google Secret Manager through google-cloud-secret-manager (the
`gcp` extra).

`{type: gcp-secret-manager, project: my-project}` keeps the record for secret path
`ci/policy.validation` as the newest version of the secret `ci-policy-validation` in that
project: secret ids allow letters, digits, `-` and `_` (1-255), so each `/` and `.` becomes `-`
(see `gcp_secret_id`; `certgov validate` refuses paths that map to the same id). The version's
payload is the JSON record; the secret's labels hold the metadata (`uuid`, `client_id`,
`secret_created_at`, `server_url`), never the secret.

Labels allow only lower-case letters, digits, `_` and `-`, at most 63 characters, so each value
is encoded (`encode_label`): letters, digits and `-` stay, every other character becomes `_`
and the two hex digits of each of its UTF-8 bytes (`T` is `_54`, `:` is `_3a`, `_` itself is
`_5f`): `2026-03-01T10:00:00Z` is `2026-03-01_5410_3a00_3a00_5a`. A value longer than 63
characters so encoded continues in `<key>-2`, `<key>-3`, ... Decoding joins the pieces and
reverses the escapes.

- Credentials: Application Default Credentials, so workload identity federation (in GitHub
  Actions, google-github-actions/auth with a workload identity provider), a service account on
  GCE or GKE, or `gcloud auth application-default login` all work with no stored key.
- Permissions: apply needs secretmanager.secrets.create, .get and .update and
  secretmanager.versions.add on the project (roles/secretmanager.admin has them all; for a
  secret created beforehand, roles/secretmanager.secretVersionAdder and a role with
  secrets.get and secrets.update); plan needs only secretmanager.secrets.get
  (roles/secretmanager.viewer): it reads labels, never a payload.
- A write adds a version (creating the secret, with automatic replication, on the first
  write), then sets the labels, keeping labels of other owners. The order is what keeps a crash
  safe: labels never describe a version that was not added; a crash between the two leaves
  labels of the previous record, so the next plan rotates the secret again.
- The client speaks REST (`transport="rest"`), here and in the tests: no gRPC channel.

Tested against a fake of Secret Manager's documented REST API
(tests/stores/gcp_secret_manager_fake.py), not against Google Cloud.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from typing import Any

from certgov.apply.failpoints import failpoint
from certgov.apply.stores.base import META_FIELDS, RecordMeta, SecretRecord, import_optional
from certgov.apply.stores.service import ServiceStore
from certgov.errors import SecretStoreError
from certgov.secretpath import gcp_secret_id

MAX_LABEL = 63
RETRIES = 2
_KEPT = re.compile(r"[a-z0-9-]")
_ESCAPE = re.compile(r"_([0-9a-f]{2})")
_PIECE = re.compile(r"^(?P<key>[a-z_]+)(?:-(?P<n>[2-9]|[1-9][0-9]+))?$")
_REQUEST = re.compile(r"^[A-Z]+ https?://\S+: ")
_DENIED = re.compile(r"Permission '([^']+)' denied")
# The predefined role to grant for each permission the store uses.
_ROLES = {
    "secretmanager.secrets.get": "roles/secretmanager.viewer",
    "secretmanager.secrets.create": "roles/secretmanager.admin",
    "secretmanager.versions.add": "roles/secretmanager.secretVersionAdder",
    "secretmanager.secrets.update": "roles/secretmanager.admin",
}


def encode_label(value: str) -> str:
    """`value` in the label alphabet, reversibly; see the module docstring."""
    return "".join(
        char if _KEPT.fullmatch(char) else "".join(f"_{b:02x}" for b in char.encode())
        for char in value
    )


def decode_label(text: str) -> str:
    """The value `encode_label` encoded as `text`."""
    data, start = bytearray(), 0
    for match in _ESCAPE.finditer(text):
        data += text[start : match.start()].encode()
        data.append(int(match.group(1), 16))
        start = match.end()
    data += text[start:].encode()
    # Labels edited by hand may hold escapes of no character: shown, never fatal.
    return data.decode(errors="replace")


def meta_labels(meta: RecordMeta) -> dict[str, str]:
    """The labels that carry `meta`: one or more pieces per field."""
    labels: dict[str, str] = {}
    for key, value in meta.to_dict().items():
        encoded = encode_label(value)
        pieces = [encoded[i : i + MAX_LABEL] for i in range(0, len(encoded), MAX_LABEL)] or [""]
        for n, piece in enumerate(pieces, start=1):
            labels[key if n == 1 else f"{key}-{n}"] = piece
    return labels


def _is_meta_label(key: str) -> bool:
    match = _PIECE.match(key)
    return match is not None and match.group("key") in META_FIELDS


def labels_meta(labels: Mapping[str, str]) -> dict[str, str] | None:
    """The metadata fields in `labels`, decoded; None when no label is certgov's."""
    if not any(_is_meta_label(key) for key in labels):
        return None
    fields = {}
    for key in META_FIELDS:
        if key not in labels:
            continue
        pieces, n = [labels[key]], 2
        while f"{key}-{n}" in labels:
            pieces.append(labels[f"{key}-{n}"])
            n += 1
        fields[key] = decode_label("".join(pieces))
    return fields


class GcpSecretManagerStore(ServiceStore):
    """Secret Manager; see the module docstring.

    `credentials` replaces Application Default Credentials (tests pass a static token);
    `endpoint` replaces secretmanager.googleapis.com (a Private Service Connect endpoint, or a
    fake); `retry_backoff` is the first wait of the SDK's retry of 429 and 5xx answers.
    """

    kind = "gcp-secret-manager"

    def __init__(
        self,
        name: str,
        *,
        project: str,
        endpoint: str | None = None,
        timeout: float = 30.0,
        credentials: Any = None,
        retry_backoff: float = 1.0,
    ) -> None:
        super().__init__(name)
        self.project = project
        self.endpoint = endpoint
        self.timeout = timeout
        self.retry_backoff = retry_backoff
        self._credentials = credentials
        self._secretmanager = import_optional("google.cloud.secretmanager", "gcp")
        self._api = import_optional("google.api_core.exceptions", "gcp")
        self._retries = import_optional("google.api_core.retry", "gcp")
        self._auth = import_optional("google.auth.exceptions", "gcp")
        self._requests = import_optional("requests", "gcp")

    def _connect(self) -> Any:
        options = {"api_endpoint": self.endpoint} if self.endpoint else None
        try:
            return self._secretmanager.SecretManagerServiceClient(
                credentials=self._credentials, transport="rest", client_options=options
            )
        except self._auth.DefaultCredentialsError:
            raise self._error(
                "no Google credentials: Application Default Credentials found none"
                " (GOOGLE_APPLICATION_CREDENTIALS, workload identity federation such as"
                " google-github-actions/auth, the metadata server, or"
                " `gcloud auth application-default login`)",
                retryable=False,
            ) from None

    def _disconnect(self, client: Any) -> None:
        client.transport.close()

    def _secret(self, path: str) -> str:
        try:
            secret_id = gcp_secret_id(self._checked(path))
        except SecretStoreError as exc:
            raise self._error(exc.message, retryable=False) from None
        return f"projects/{self.project}/secrets/{secret_id}"

    def _retry(self) -> Any:
        """The SDK's retry for one call: 429 and 5xx, at most RETRIES more attempts."""
        transient = (self._api.TooManyRequests, self._api.ServerError)
        left = [RETRIES]

        def predicate(exc: BaseException) -> bool:
            if not isinstance(exc, transient) or left[0] == 0:
                return False
            left[0] -= 1
            return True

        return self._retries.Retry(
            predicate=predicate,
            initial=self.retry_backoff,
            multiplier=2.0,
            maximum=8 * self.retry_backoff,
            timeout=self.timeout,
        )

    def _call(self, method: Any, **kwargs: Any) -> Any:
        return method(**kwargs, retry=self._retry(), timeout=self.timeout)

    def _failure(self, action: str, exc: BaseException, secret: str = "") -> SecretStoreError:
        """A SecretStoreError for a Google API failure, scrubbed, never chained."""
        api = self._api
        if isinstance(exc, self._requests.RequestException):
            where = self.endpoint or "secretmanager.googleapis.com"
            return self._error(f"{action}: cannot reach {where}: {type(exc).__name__}")
        if isinstance(exc, self._auth.GoogleAuthError):
            retryable = bool(getattr(exc, "retryable", False))
            return self._error(
                f"{action}: cannot get a Google access token: {exc}",
                secret=secret,
                retryable=retryable,
            )
        if isinstance(exc, api.Forbidden):
            denied = _DENIED.search(exc.message or "")
            permission = denied.group(1) if denied else ""
            needs = (
                f"the identity needs {permission} on project {self.project}"
                f" ({_ROLES[permission]} grants it)"
                if permission in _ROLES
                else "apply needs secretmanager.secrets.create, .get, .update and"
                " secretmanager.versions.add, plan secretmanager.secrets.get"
            )
            return self._error(f"{action}: permission denied: {needs}", retryable=False)
        if isinstance(exc, api.GoogleAPICallError):
            # The REST transport starts the message with the method and the URL: left out.
            text = _REQUEST.sub("", exc.message or "")
            retryable = isinstance(exc, api.TooManyRequests | api.ServerError | api.Conflict)
            return self._error(
                f"{action}: HTTP {exc.code}: {text}", secret=secret, retryable=retryable
            )
        return self._error(f"{action}: {type(exc).__name__}", secret=secret)

    def _google_errors(self) -> tuple[type[BaseException], ...]:
        return (
            self._api.GoogleAPIError,
            self._auth.GoogleAuthError,
            self._requests.RequestException,
        )

    def read_meta(self, path: str) -> RecordMeta | None:
        """The secret's labels, decoded; None when there is no secret or no certgov label."""
        name = self._secret(path)
        client = self._connected()
        try:
            secret = self._call(client.get_secret, name=name)
        except self._api.NotFound:
            return None
        except self._google_errors() as exc:
            raise self._failure(f"cannot read {name!r}", exc) from None
        fields = labels_meta(secret.labels)
        if fields is None:
            return None
        try:
            return RecordMeta.from_mapping(fields, where=f"the labels of {name!r}")
        except SecretStoreError as exc:
            raise self._error(exc.message, retryable=False) from None

    def write(self, path: str, record: SecretRecord) -> None:
        """Add a version (creating the secret if need be), then label it; see the docstring."""
        name = self._secret(path)
        labels = meta_labels(record.meta())
        client = self._connected()
        payload = {"data": record.to_json().encode()}
        try:
            try:
                self._call(client.add_secret_version, parent=name, payload=payload)
            except self._api.NotFound:
                self._create(client, name)
                self._call(client.add_secret_version, parent=name, payload=payload)
            failpoint("store_after_payload")
            current = self._call(client.get_secret, name=name)
            kept = {k: v for k, v in current.labels.items() if not _is_meta_label(k)}
            self._call(
                client.update_secret,
                secret={"name": name, "labels": {**kept, **labels}},
                update_mask={"paths": ["labels"]},
            )
        except self._google_errors() as exc:
            raise self._failure(f"cannot write {name!r}", exc, record.client_secret) from None

    def _create(self, client: Any, name: str) -> None:
        """Create the secret, without labels: they come once a version holds the record."""
        parent, _, secret_id = name.rpartition("/secrets/")
        # AlreadyExists: a parallel writer created it meanwhile; add the version to that.
        with contextlib.suppress(self._api.AlreadyExists):
            self._call(
                client.create_secret,
                parent=parent,
                secret_id=secret_id,
                secret={"replication": {"automatic": {}}},
            )
