"""Apply killed with SIGKILL at each failpoint while new secrets go to the azure-keyvault or the
gcp-secret-manager store, then apply and plan again: the tenant converges, with no duplicate
account and a record in the store, for every account, that logs in.

The stores talk to fakes of the services' documented REST APIs (tests/stores/cloud.py), not to
Azure or Google Cloud; the killed run is a subprocess that gets its token with no stored secret,
as in CI (DefaultAzureCredential through a managed identity endpoint; Application Default
Credentials through workload identity federation).
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.integration.conftest import LiveServer
from tests.integration.crashrepo import write_repo
from tests.integration.test_crash_safety import ACCOUNTS, POLICIES, assert_converged, certgov
from tests.stores.cloud import CloudStore, account_records

FAILPOINTS = ["before_first_write", "after_create_before_store", "after_store", "after_change:4"]


@pytest.mark.parametrize(
    ("cloud", "failpoint"),
    [
        *(("azure-keyvault", failpoint) for failpoint in FAILPOINTS),
        *(("gcp-secret-manager", failpoint) for failpoint in FAILPOINTS),
        # Secret Manager's write is two steps: the version, then the labels that describe it.
        ("gcp-secret-manager", "store_after_payload"),
    ],
    indirect=["cloud"],
)
def test_apply_killed_at_a_failpoint_converges(
    live_sqlite: LiveServer, tmp_path: Path, cloud: CloudStore, failpoint: str
) -> None:
    repo = write_repo(tmp_path / "repo", ACCOUNTS, POLICIES, cloud.config)
    killed = certgov(live_sqlite, "apply", str(repo), "--auto-approve", failpoint=failpoint)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert_converged(live_sqlite, repo, lambda: account_records(cloud))
