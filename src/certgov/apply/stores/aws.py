"""The `aws` store: AWS Secrets Manager through `boto3` (the `aws` extra).

`{type: aws, region: eu-west-1, prefix: certgov/, endpoint_url: ...}` keeps the record for secret
path `a/b` as the secret string of the secret named `<prefix>a/b`. Credentials come from the
standard AWS chain (environment, profile, instance role); `endpoint_url` points at a private
endpoint or a local emulator.

Every write carries a `ClientRequestToken` derived from the account uuid and `secret_created_at`,
so that a retried write of the same record (an answer lost on the way back, a rerun of apply)
is recognised by Secrets Manager and makes no second version.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from certgov.apply.stores.base import RecordMeta, SecretRecord, import_optional
from certgov.apply.stores.service import ServiceStore
from certgov.errors import SecretStoreConflictError, SecretStoreError

# A fixed namespace: the same record always yields the same token, on any machine.
TOKEN_NAMESPACE = uuid.UUID("5f0b7c52-3f7e-4d53-9a51-6c1d2b0c9e41")

# Error codes after which trying again cannot help.
_PERMANENT = frozenset(
    {
        "AccessDeniedException",
        "InvalidParameterException",
        "InvalidRequestException",
        "ResourceExistsException",
        "UnrecognizedClientException",
        "ValidationException",
    }
)


def request_token(record: SecretRecord) -> str:
    """The ClientRequestToken for `record`: one per account and secret generation."""
    return str(uuid.uuid5(TOKEN_NAMESPACE, f"{record.uuid}\n{record.secret_created_at}"))


class AwsStore(ServiceStore):
    """Secrets Manager; see the module docstring."""

    kind = "aws"

    def __init__(
        self,
        name: str,
        *,
        region: str,
        prefix: str,
        endpoint_url: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(name)
        self.region = region
        self.prefix = prefix
        self.endpoint_url = endpoint_url
        self.timeout = timeout
        self._boto3 = import_optional("boto3", "aws")
        self._botocore = import_optional("botocore.exceptions", "aws")
        self._config = import_optional("botocore.config", "aws")

    def _connect(self) -> Any:
        config = self._config.Config(
            connect_timeout=min(self.timeout, 10.0),
            read_timeout=self.timeout,
            # Few attempts inside botocore: certgov retries whole writes itself.
            retries={"max_attempts": 2, "mode": "standard"},
        )
        try:
            return self._boto3.session.Session().client(
                "secretsmanager",
                region_name=self.region,
                endpoint_url=self.endpoint_url,
                config=config,
            )
        except self._aws_errors() as exc:
            raise self._failure("cannot set up a Secrets Manager client", exc) from None

    def _disconnect(self, client: Any) -> None:
        client.close()

    def _secret_name(self, path: str) -> str:
        return f"{self.prefix}{self._checked(path)}"

    def _failure(self, action: str, exc: BaseException, secret: str = "") -> SecretStoreError:
        """A SecretStoreError for a botocore failure, scrubbed, never chained."""
        errors = self._botocore
        if isinstance(exc, errors.NoCredentialsError):
            return self._error(
                f"{action}: no AWS credentials found (environment, profile or instance role)",
                retryable=False,
            )
        if isinstance(exc, errors.ClientError):
            code = exc.response.get("Error", {}).get("Code", "")
            message = exc.response.get("Error", {}).get("Message", "")
            return self._error(
                f"{action}: {code}: {message}", secret=secret, retryable=code not in _PERMANENT
            )
        if isinstance(exc, errors.ConnectionError | errors.HTTPClientError):
            where = self.endpoint_url or f"Secrets Manager in {self.region}"
            return self._error(f"{action}: cannot reach {where}: {type(exc).__name__}")
        # Configuration and validation problems (partial credentials, a bad parameter): the
        # text may quote the request, hence the scrub.
        return self._error(f"{action}: {exc}", secret=secret, retryable=False)

    def _aws_errors(self) -> tuple[type[BaseException], ...]:
        return (self._botocore.BotoCoreError, self._botocore.ClientError)

    def read_meta(self, path: str) -> RecordMeta | None:
        """Read the current version and drop the secret; None when there is no such secret."""
        name = self._secret_name(path)
        client = self._connected()
        try:
            response = client.get_secret_value(SecretId=name)
        except client.exceptions.ResourceNotFoundException:
            return None
        except self._aws_errors() as exc:
            raise self._failure(f"cannot read {name!r}", exc) from None
        try:
            data = _json_object(response.get("SecretString"))
            return RecordMeta.from_mapping(data, where=repr(name))
        except SecretStoreError as exc:
            raise self._error(exc.message, retryable=False) from None

    def write(self, path: str, record: SecretRecord) -> None:
        """Put a new version (or create the secret), idempotent per record."""
        name = self._secret_name(path)
        client = self._connected()
        body = {"SecretString": record.to_json(), "ClientRequestToken": request_token(record)}
        secret = record.client_secret
        try:
            try:
                client.put_secret_value(SecretId=name, **body)
            except client.exceptions.ResourceNotFoundException:
                try:
                    client.create_secret(Name=name, **body)
                except client.exceptions.ResourceExistsException:
                    # Someone created it between our two calls: a new version is what we want.
                    client.put_secret_value(SecretId=name, **body)
        except client.exceptions.ResourceExistsException:
            # The token is taken by a version with another value: another apply stored a
            # different secret generated at the same instant.
            raise SecretStoreConflictError(
                f"aws store {self.name!r}: {name!r} already holds a different secret created at"
                f" {record.secret_created_at} (another apply rotated it at the same time);"
                " run plan again"
            ) from None
        except self._aws_errors() as exc:
            raise self._failure(f"cannot write {name!r}", exc, secret) from None


def _json_object(text: Any) -> dict[str, Any]:
    if not isinstance(text, str):
        raise SecretStoreError("the secret has no SecretString", retryable=False)
    try:
        data = json.loads(text)
    except ValueError:
        raise SecretStoreError("the SecretString is not JSON", retryable=False) from None
    if not isinstance(data, dict):
        raise SecretStoreError("the SecretString is not a JSON object", retryable=False)
    return data
