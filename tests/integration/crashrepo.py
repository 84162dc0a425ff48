"""A declarations repo whose accounts may log in from loopback, so that every stored secret
can be proven by logging in with it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from certgov.client import ClmClient, Credentials
from certgov.errors import CertgovError

CONFIG = """apiVersion: certgov/v1
kind: Config
secret_stores:
  local: {type: file, path: .certgov-secrets}
manage:
  ServiceAccount: {prune: disable, ignore: ["bootstrap-*"]}
  Policy: {prune: disable}
"""

ACCOUNT = """---
apiVersion: certgov/v1
kind: ServiceAccount
name: {name}
description: crash-test account {name}
scopes: [read]
ip_allowlist: [127.0.0.1, "::1"]
expires_at: 2099-01-01
secret: {{store: local, path: accounts/{name}}}
"""

POLICY = """---
apiVersion: certgov/v1
kind: Policy
name: {name}
matching_criteria: {{action: certificate.generate, domains: ["*.{name}.example.com"]}}
rules:
  - {{action: enforce_minimum_key_size, fail: hard, values: {{minimum_bits: 3072}}}}
tests:
  - name: a small key is refused
    request: {{common_name: a.{name}.example.com, key: {{algorithm: rsa, size: 2048}}}}
    expect: block
"""


def write_repo(root: Path, accounts: int, policies: int, store: str | None = None) -> Path:
    """The repo, its store `local` a file store, or `store` (a YAML flow mapping)."""
    root.mkdir(parents=True, exist_ok=True)
    config = CONFIG.replace("{type: file, path: .certgov-secrets}", store) if store else CONFIG
    (root / "certgov.yaml").write_text(config)
    (root / "accounts.yaml").write_text(
        "".join(ACCOUNT.format(name=f"acct-{i:03}") for i in range(accounts))
    )
    (root / "policies.yaml").write_text(
        "".join(POLICY.format(name=f"pol{i:03}") for i in range(policies))
    )
    return root


def store_records(root: Path) -> dict[str, dict[str, Any]]:
    folder = root / ".certgov-secrets" / "accounts"
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def login_failures(url: str, root: Path) -> list[str]:
    """Every record of the file store that does not log in, with the reason."""
    return record_login_failures(url, store_records(root))


def record_login_failures(url: str, records: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every record (by account name) that does not log in, with the reason."""
    failures = []
    for name, record in sorted(records.items()):
        creds = Credentials(record["uuid"], record["client_id"], record["client_secret"])
        try:
            with ClmClient(url, creds) as client:
                if client.verify().account_name != name:
                    failures.append(f"{name}: logged in as another account")
        except CertgovError as exc:
            failures.append(f"{name}: {exc.message}")
    return failures
