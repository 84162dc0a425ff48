"""The azure-keyvault and gcp-secret-manager stores on their fakes: stores pointed at a fake, for
unit tests; and, as whole runs of certgov use them, a fake of
the service on loopback (see azure_keyvault_fake.py and gcp_secret_manager_fake.py: fakes of
the documented REST APIs, not the services), the `secret_stores` entry that points at it, and
the environment with which DefaultAzureCredential or Application Default Credentials get a
token from the fake with no stored secret, in this process or in a subprocess."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.oauth2.credentials import Credentials

from certgov.apply.stores import AzureKeyVaultStore, GcpSecretManagerStore
from tests.loopback import RecordingFake, ThrowawayCA, throwaway_ca
from tests.stores.azure_keyvault_fake import FakeKeyVault, StaticCredential
from tests.stores.gcp_secret_manager_fake import FakeSecretManager

CLOUDS = ("azure-keyvault", "gcp-secret-manager")


def keyvault_store(
    fake: FakeKeyVault, role: str = "Key Vault Secrets Officer", **kwargs: Any
) -> AzureKeyVaultStore:
    """A store on `fake` whose static token has `role`, retrying and polling fast."""
    kwargs.setdefault("credential", StaticCredential(fake.token(role)))
    kwargs.setdefault("vault_url", fake.url)
    options = {"timeout": 5, "retry_backoff": 0.01, "poll_interval": 0.01, **kwargs}
    return AzureKeyVaultStore("kv", **options)


def secret_manager_store(
    fake: FakeSecretManager, *roles: str, **kwargs: Any
) -> GcpSecretManagerStore:
    """A store on `fake` whose static token has `roles` (admin if none), retrying fast."""
    kwargs.setdefault("credentials", Credentials(token=fake.token(*roles)))
    kwargs.setdefault("endpoint", fake.url)
    options = {"project": fake.project, "timeout": 5, "retry_backoff": 0.01, **kwargs}
    return GcpSecretManagerStore("gcp", **options)


@dataclass
class CloudStore:
    kind: str
    fake: RecordingFake
    config: str  # the secret_stores entry, as a YAML flow mapping
    env: dict[str, str]
    records: Callable[[], dict[str, dict[str, Any]]]  # the newest record of each secret
    may_write: Callable[[bool], None]  # whether tokens issued from now on may write
    history: Callable[[str], list[dict[str, Any]]]  # every record of one secret, oldest first


@contextmanager
def running(kind: str, ca: ThrowawayCA, folder: Path) -> Iterator[CloudStore]:
    """The fake of `kind` on loopback for the block, as a CloudStore."""
    if kind == "azure-keyvault":
        vault = FakeKeyVault()
        with vault.serving(ca):

            def vault_role(allowed: bool) -> None:
                vault.identity_role = "Key Vault Secrets Officer" if allowed else "Key Vault Reader"

            yield CloudStore(
                kind,
                vault,
                f'{{type: azure-keyvault, vault_url: "{vault.url}", timeout: 10s}}',
                vault.client_env(ca),
                lambda: {
                    name: json.loads(secret.newest.value) for name, secret in vault.secrets.items()
                },
                vault_role,
                lambda name: [json.loads(value) for value in vault.values(name)],
            )
        return
    manager = FakeSecretManager()
    with manager.serving(ca):

        def manager_role(allowed: bool) -> None:
            manager.federated_role = (
                "roles/secretmanager.admin" if allowed else "roles/secretmanager.viewer"
            )

        yield CloudStore(
            kind,
            manager,
            f'{{type: gcp-secret-manager, project: {manager.project}, endpoint: "{manager.url}",'
            " timeout: 10s}",
            manager.client_env(ca, folder),
            lambda: {
                name: manager.payloads(name)[-1]
                for name, secret in manager.secrets.items()
                if secret.versions
            },
            manager_role,
            manager.payloads,
        )


def account_records(cloud: CloudStore) -> dict[str, dict[str, Any]]:
    """The records of accounts whose secret path is `accounts/<name>`, by account name."""
    return {name.removeprefix("accounts-"): record for name, record in cloud.records().items()}


def main(argv: list[str]) -> None:
    """`python -m tests.stores.cloud KIND FOLDER`: serve the fake of KIND until interrupted.

    For trying certgov by hand: writes FOLDER/env.sh (the environment a shell needs to reach
    the fake with no stored secret) and FOLDER/store.yaml (the secret_stores entry), then logs
    one line per request: method, path, status.
    """
    import signal
    import sys

    kind, folder = argv[0], Path(argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    ca = throwaway_ca(folder / "tls")
    with running(kind, ca, folder) as cloud:
        fake = cloud.fake
        fake.log = lambda call, answer: print(
            f"{kind} fake: {call.method} {call.path} -> {answer.status}", flush=True
        )
        env = "".join(f"export {name}={value}\n" for name, value in cloud.env.items())
        (folder / "env.sh").write_text(env)
        (folder / "store.yaml").write_text(cloud.config + "\n")
        print(f"{kind} fake at {fake.url}; environment in {folder / 'env.sh'}", flush=True)
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    sys.exit(0)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
