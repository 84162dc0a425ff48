"""One account's life with its secret in the azure-keyvault or the gcp-secret-manager store, as a
user runs it: apply creates the account and stores its secret, the secret comes of age, plan
rotates it, apply writes a new version, and the next plan has nothing to do.

The stores talk to fakes of the services' documented REST APIs (tests/stores/cloud.py), not to
Azure or Google Cloud, with a token got with no stored secret, as in CI.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from certgov.client import ClmClient, Credentials, canonical_api_root
from certgov.errors import AuthenticationError
from tests.integration.conftest import LiveServer
from tests.stores.cloud import CLOUDS, CloudStore

CONFIG = """apiVersion: certgov/v1
kind: Config
secret_stores:
  cloud: {store}
manage:
  ServiceAccount: {{prune: disable, ignore: ["bootstrap-*"]}}
"""

ACCOUNT = """apiVersion: certgov/v1
kind: ServiceAccount
name: ci
description: CI deployer
scopes: [read]
ip_allowlist: [127.0.0.1]
expires_at: 2099-01-01
secret: {store: cloud, path: accounts/ci, rotate_after: 30d}
"""

CREATE = """\
Risks for a security review:
  ServiceAccount/ci: account created: scopes read; from 127.0.0.1; 2099-01-01T00:00:00+00:00

certgov will perform the following actions:

  # ServiceAccount/ci will be created
  + ServiceAccount/ci
      + name: "ci"
      + description: "CI deployer"
      + scopes: ["read"]
      + ip_allowlist: ["127.0.0.1"]
      + expires_at: "2099-01-01T00:00:00+00:00"
      + enabled: true
      + client_secret: (sensitive: generated on apply, stored in cloud at accounts/ci)
      steps: create → store the generated secret

Plan: 1 to create, 0 to update, 0 to delete.
Also: 1 ignored.
"""

ROTATE = """\
Risks for a security review:
  ServiceAccount/ci: secret rotated: whoever uses the current secret is cut off

certgov will perform the following actions:

  # ServiceAccount/ci will have its secret rotated
  # (secret is 31 days old; rotate_after is 30 days)
  ~ ServiceAccount/ci
      + client_secret: (sensitive: generated on apply, stored in cloud at accounts/ci)

Plan: 0 to create, 0 to update, 0 to delete, 1 to rotate.
Also: 1 ignored.
"""

NO_CHANGES = """\
No changes. The live tenant matches the declarations.
Also: 1 unchanged, 1 ignored.
"""


def logs_in(record: dict[str, str]) -> bool:
    creds = Credentials(record["uuid"], record["client_id"], record["client_secret"])
    try:
        with ClmClient(record["server_url"], creds) as client:
            client.verify()
    except AuthenticationError:
        return False
    return True


@pytest.mark.parametrize("cloud", CLOUDS, indirect=True)
def test_apply_then_rotate_then_plan_has_nothing_to_do(
    live_sqlite: LiveServer, tmp_path: Path, cloud: CloudStore
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "certgov.yaml").write_text(CONFIG.format(store=cloud.config))
    (repo / "ci.yaml").write_text(ACCOUNT)
    head = (
        f"Target: {canonical_api_root(live_sqlite.url)}\n"
        "Compared: ServiceAccount live, Policy live\n\n"
    )

    def run(*args: str) -> str:
        result = live_sqlite.cli(*args, str(repo))
        assert (result.exit_code, result.stderr) == (0, ""), result.output
        return result.stdout

    assert run("apply", "--auto-approve") == head + CREATE + (
        "ServiceAccount/ci: created; secret stored in cloud at accounts/ci\n"
        "Apply complete: 1 created, 0 updated, 0 failed.\n"
    )
    assert run("plan") == head + NO_CHANGES
    first = cloud.history("accounts-ci")

    live_sqlite.clock.advance(days=31)
    assert run("plan") == head + ROTATE
    assert run("apply", "--auto-approve") == head + ROTATE + (
        "ServiceAccount/ci: secret rotated; secret stored in cloud at accounts/ci\n"
        "Apply complete: 0 created, 0 updated, 1 rotated, 0 failed.\n"
    )
    assert run("plan") == head + NO_CHANGES

    versions = cloud.history("accounts-ci")
    assert len(versions) == 2
    assert versions[0] == first[0]
    assert [logs_in(record) for record in versions] == [False, True]
    assert versions[0]["uuid"] == versions[1]["uuid"]
