"""The API calls apply makes, one operations object per kind (decK's `crud` registry).

The executor walks a plan and calls `ops.kind(change.kind).create(...)`; it never branches on
the kind itself. `Operations.over(client)` builds the registry over a `ClmClient`; a test builds
it over the in-memory fake API, so every apply path is a unit test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from certgov.policytest import Evaluate
from certgov.state import POLICY, SERVICE_ACCOUNT, Resource, State, api_body

if TYPE_CHECKING:
    from certgov.client import ClmClient, ObjectResult, SecretResult


class KindOps(Protocol):
    """What apply may do to objects of one kind. Writes take the `If-Match` ETag they expect;
    creates take an `Idempotency-Key`, so a retried create is replayed, not duplicated."""

    kind: str

    def create(self, spec: Mapping[str, Any], *, idempotency_key: str) -> ObjectResult:
        """Create the object from its normalised spec (a policy: disabled, to be proven)."""
        ...

    def replace(self, object_id: Any, spec: Mapping[str, Any], *, if_match: str | None) -> Any:
        """Replace the mutable fields (PUT)."""
        ...

    def set_enabled(self, object_id: Any, enabled: bool, *, if_match: str | None) -> Any:
        """Enable or disable the object."""
        ...

    def delete(self, object_id: Any, *, if_match: str | None) -> Any:
        """Delete the object."""
        ...

    def get(self, object_id: Any) -> tuple[Resource, str | None]:
        """The object as it is now, normalised, with its ETag."""
        ...

    def find(self, name: str) -> Resource | None:
        """The object of that name, if any (to resolve a create's 409)."""
        ...


class PolicyOps:
    """Certificate policies: created disabled, proven by the dry run, then enabled."""

    kind = POLICY

    def __init__(self, client: ClmClient) -> None:
        self.client = client

    def create(self, spec: Mapping[str, Any], *, idempotency_key: str) -> ObjectResult:
        body = {**api_body(POLICY, spec), "is_enabled": False}
        return self.client.create_policy(body, idempotency_key=idempotency_key)

    def replace(self, object_id: Any, spec: Mapping[str, Any], *, if_match: str | None) -> Any:
        return self.client.replace_policy(object_id, api_body(POLICY, spec), if_match=if_match)

    def set_enabled(self, object_id: Any, enabled: bool, *, if_match: str | None) -> Any:
        call = self.client.enable_policy if enabled else self.client.disable_policy
        return call(object_id, if_match=if_match)

    def delete(self, object_id: Any, *, if_match: str | None) -> Any:
        return self.client.delete_policy(object_id, if_match=if_match)

    def get(self, object_id: Any) -> tuple[Resource, str | None]:
        from certgov.client.live import live_resource

        found = self.client.get_policy(object_id)
        return live_resource(POLICY, found.data), found.etag

    def find(self, name: str) -> Resource | None:
        from certgov.client.live import live_resource

        found = self.client.find_policy(name)
        return None if found is None else live_resource(POLICY, found.data)


class AccountOps:
    """Service accounts: their secret is issued on create and on regeneration only."""

    kind = SERVICE_ACCOUNT

    def __init__(self, client: ClmClient) -> None:
        self.client = client

    def create(self, spec: Mapping[str, Any], *, idempotency_key: str) -> SecretResult:
        body = api_body(SERVICE_ACCOUNT, spec)
        return self.client.create_service_account(body, idempotency_key=idempotency_key)

    def replace(self, object_id: Any, spec: Mapping[str, Any], *, if_match: str | None) -> Any:
        body = api_body(SERVICE_ACCOUNT, spec)
        return self.client.replace_service_account(object_id, body, if_match=if_match)

    def set_enabled(self, object_id: Any, enabled: bool, *, if_match: str | None) -> Any:
        call = (
            self.client.enable_service_account if enabled else self.client.disable_service_account
        )
        return call(object_id, if_match=if_match)

    def delete(self, object_id: Any, *, if_match: str | None) -> Any:
        return self.client.delete_service_account(object_id, if_match=if_match)

    def get(self, object_id: Any) -> tuple[Resource, str | None]:
        from certgov.client.live import live_resource

        found = self.client.get_service_account(object_id)
        return live_resource(SERVICE_ACCOUNT, found.data), found.etag

    def find(self, name: str) -> Resource | None:
        from certgov.client.live import live_resource

        found = self.client.find_service_account(name)
        return None if found is None else live_resource(SERVICE_ACCOUNT, found.data)

    def regenerate(self, object_id: Any, *, if_match: str | None) -> SecretResult:
        """A new secret; the answer carries it (never retried: it would mint two)."""
        return self.client.regenerate_secret(object_id, if_match=if_match)


@dataclass(frozen=True)
class Operations:
    """Everything apply does through the API: the per-kind operations, the dry run that proves a
    policy before it is enabled, and reading live state for the staleness check."""

    policies: PolicyOps
    accounts: AccountOps
    validate: Evaluate
    read_live: Callable[[], State]
    server: str

    @classmethod
    def over(cls, client: ClmClient) -> Operations:
        from certgov.client.live import read_live_state

        def validate(
            request: Mapping[str, Any], policy: Mapping[str, Any] | None, policy_id: Any
        ) -> Mapping[str, Any]:
            return client.validate(request=dict(request), policy=policy, policy_id=policy_id)

        return cls(
            policies=PolicyOps(client),
            accounts=AccountOps(client),
            validate=validate,
            read_live=lambda: read_live_state(client),
            server=client.server,
        )
