"""Building stores from `secret_stores` in certgov.yaml, and the write retry helper."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from certgov.apply.stores import (
    AwsStore,
    AzureKeyVaultStore,
    CommandStore,
    FileStore,
    GcpSecretManagerStore,
    SecretRecord,
    VaultStore,
    build_store,
    build_stores,
    parse_duration,
    write_with_retry,
)
from certgov.errors import (
    DeclarationError,
    Problem,
    SecretStoreConflictError,
    SecretStoreError,
)
from certgov.secretpath import missing_extra


def _problems(configs: dict[str, Any], root: Path) -> list[Problem]:
    with pytest.raises(DeclarationError) as caught:
        build_stores(configs, root)
    return caught.value.problems


def test_file_store_folder_is_under_the_repo_root(tmp_path: Path) -> None:
    store = build_store("local", {"type": "file", "path": ".certgov-secrets"}, root=tmp_path)

    assert isinstance(store, FileStore)
    assert (store.name, store.folder) == ("local", tmp_path / ".certgov-secrets")


def test_command_store_gets_argv_timeout_and_root(tmp_path: Path) -> None:
    config = {"type": "command", "command": ["./bin/store", "--quiet"], "timeout": "2m"}
    store = build_store("pass", config, root=tmp_path)

    assert isinstance(store, CommandStore)
    assert (store.argv, store.timeout, store.cwd) == (["./bin/store", "--quiet"], 120.0, tmp_path)


def test_command_store_timeout_defaults_to_30s(tmp_path: Path) -> None:
    store = build_store("pass", {"type": "command", "command": ["x"]}, root=tmp_path)

    assert isinstance(store, CommandStore)
    assert store.timeout == 30.0


def test_vault_store_defaults_mount_and_approle_mount(tmp_path: Path) -> None:
    store = build_store("vault", {"type": "vault", "url": "https://vault:8200"}, root=tmp_path)

    assert isinstance(store, VaultStore)
    assert (store.url, store.mount, store.approle_mount, store.timeout) == (
        "https://vault:8200",
        "secret",
        "approle",
        30.0,
    )


def test_aws_store_takes_region_prefix_and_endpoint(tmp_path: Path) -> None:
    config = {
        "type": "aws",
        "region": "eu-west-1",
        "prefix": "certgov/",
        "endpoint_url": "http://127.0.0.1:5000",
    }
    store = build_store("aws", config, root=tmp_path)

    assert isinstance(store, AwsStore)
    assert (store.region, store.prefix, store.endpoint_url) == (
        "eu-west-1",
        "certgov/",
        "http://127.0.0.1:5000",
    )


def test_azure_keyvault_store_takes_the_vault_url_and_timeout(tmp_path: Path) -> None:
    config = {"type": "azure-keyvault", "vault_url": "https://kv.vault.azure.net", "timeout": "5s"}
    store = build_store("kv", config, root=tmp_path)

    assert isinstance(store, AzureKeyVaultStore)
    assert (store.vault_url, store.timeout) == ("https://kv.vault.azure.net", 5.0)


def test_gcp_store_takes_project_and_endpoint(tmp_path: Path) -> None:
    config = {
        "type": "gcp-secret-manager",
        "project": "my-project",
        "endpoint": "https://secretmanager.p.googleapis.com",
    }
    store = build_store("gcp", config, root=tmp_path)

    assert isinstance(store, GcpSecretManagerStore)
    assert (store.project, store.endpoint, store.timeout) == (
        "my-project",
        "https://secretmanager.p.googleapis.com",
        30.0,
    )


def test_cloud_store_settings_are_checked(tmp_path: Path) -> None:
    configs = {
        "kv": {"type": "azure-keyvault", "vault_url": "http://kv.vault.azure.net"},
        "gcp": {"type": "gcp-secret-manager", "region": "europe-west1"},
    }

    assert _problems(configs, tmp_path) == [
        Problem(None, "secret_stores.gcp.project", "is required"),
        Problem(
            None,
            "secret_stores.gcp.region",
            "unknown setting (allowed: endpoint, project, timeout)",
        ),
        Problem(
            None,
            "secret_stores.kv.vault_url",
            "'http://kv.vault.azure.net' is not an https:// URL",
        ),
    ]


def test_build_stores_builds_every_entry(tmp_path: Path) -> None:
    stores = build_stores(
        {
            "local": {"type": "file", "path": "secrets"},
            "pass": {"type": "command", "command": ["x"]},
        },
        tmp_path,
    )

    assert {name: type(store).__name__ for name, store in stores.items()} == {
        "local": "FileStore",
        "pass": "CommandStore",
    }


def test_unknown_type_lists_the_known_ones(tmp_path: Path) -> None:
    assert _problems({"x": {"type": "gcp"}}, tmp_path) == [
        Problem(
            None,
            "secret_stores.x.type",
            "unknown store type 'gcp' (expected one of: aws, azure-keyvault, command, file,"
            " gcp-secret-manager, vault)",
        )
    ]


def test_entry_that_is_not_a_mapping_is_a_problem(tmp_path: Path) -> None:
    assert _problems({"x": "file"}, tmp_path) == [  # type: ignore[dict-item]
        Problem(None, "secret_stores.x", "must be a mapping with a `type`")
    ]


def test_every_problem_of_every_entry_is_reported_at_once(tmp_path: Path) -> None:
    configs = {
        "pass": {"type": "command", "command": [], "timeout": "soon", "shell": True},
        "vault": {"type": "vault", "url": "vault.example", "mount": 3},
        "aws": {"type": "aws", "endpoint_url": "ftp://x"},
        "local": {"type": "file", "path": ""},
    }

    assert _problems(configs, tmp_path) == [
        Problem(
            None,
            "secret_stores.aws.endpoint_url",
            "'ftp://x' is not an http:// or https:// URL",
        ),
        Problem(None, "secret_stores.aws.region", "is required"),
        Problem(None, "secret_stores.local.path", "must be a non-empty string"),
        Problem(
            None,
            "secret_stores.pass.command",
            "must be a non-empty list of non-empty strings (the argv)",
        ),
        Problem(
            None,
            "secret_stores.pass.shell",
            "unknown setting (allowed: command, timeout)",
        ),
        Problem(
            None,
            "secret_stores.pass.timeout",
            "'soon' is not a duration such as 30s, 500ms or 2m",
        ),
        Problem(None, "secret_stores.vault.mount", "must be a non-empty string"),
        Problem(
            None,
            "secret_stores.vault.url",
            "'vault.example' is not an http:// or https:// URL",
        ),
    ]


def test_missing_required_settings_are_problems(tmp_path: Path) -> None:
    configs = {"pass": {"type": "command"}, "vault": {"type": "vault"}}

    assert _problems(configs, tmp_path) == [
        Problem(None, "secret_stores.pass.command", "is required"),
        Problem(None, "secret_stores.vault.url", "is required"),
    ]


def test_prefix_of_the_wrong_type_is_a_problem(tmp_path: Path) -> None:
    assert _problems({"aws": {"type": "aws", "region": "r", "prefix": 7}}, tmp_path) == [
        Problem(None, "secret_stores.aws.prefix", "must be a string")
    ]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30s", 30.0),
        ("500ms", 0.5),
        ("2m", 120.0),
        ("1h", 3600.0),
        ("1d", 86400.0),
        ("1w", 604800.0),
        ("1.5s", 1.5),
        (10, 10.0),
        (0.25, 0.25),
        ("45", 45.0),
    ],
)
def test_durations_parse_to_seconds(value: Any, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "must be a duration such as 30s"),
        ("0s", "must be longer than 0s"),
        (-1, "must be longer than 0s"),
        ("3 fortnights", "'3 fortnights' is not a duration such as 30s, 500ms or 2m"),
    ],
)
def test_bad_durations_are_refused(value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_duration(value)


def test_missing_optional_library_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "hvac", None)

    with pytest.raises(SecretStoreError) as caught:
        build_store("vault", {"type": "vault", "url": "https://vault:8200"}, root=tmp_path)

    assert caught.value.message == (
        "hvac is not installed: install certgov with the 'vault' extra"
        " (pip install 'certgov[vault]')"
    )


@pytest.mark.parametrize(
    ("config", "module", "extra"),
    [
        (
            {"type": "azure-keyvault", "vault_url": "https://kv.vault.azure.net"},
            "azure.keyvault.secrets",
            "azure",
        ),
        (
            {"type": "gcp-secret-manager", "project": "my-project"},
            "google.cloud.secretmanager",
            "gcp",
        ),
    ],
)
def test_missing_cloud_library_names_the_extra(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    config: dict[str, str],
    module: str,
    extra: str,
) -> None:
    monkeypatch.setitem(sys.modules, module, None)

    with pytest.raises(SecretStoreError) as caught:
        build_store("x", config, root=tmp_path)

    assert caught.value.message == (
        f"{module} is not installed: install certgov with the '{extra}' extra"
        f" (pip install 'certgov[{extra}]')"
    )


class _FlakyStore:
    """Fails the first `failures` writes with `error`, then succeeds."""

    name = "flaky"

    def __init__(self, failures: int, error: SecretStoreError) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    def read_meta(self, path: str) -> None:
        return None

    def write(self, path: str, record: SecretRecord) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error

    def close(self) -> None:
        pass


def test_retry_backs_off_then_succeeds(record: SecretRecord) -> None:
    store = _FlakyStore(2, SecretStoreError("store unavailable"))
    sleeps: list[float] = []

    write_with_retry(store, "deploy", record, attempts=3, sleep=sleeps.append)

    assert (store.calls, sleeps) == (3, [0.5, 1.0])


def test_retry_gives_up_after_the_last_attempt(record: SecretRecord) -> None:
    store = _FlakyStore(5, SecretStoreError("store unavailable"))
    sleeps: list[float] = []

    with pytest.raises(SecretStoreError) as caught:
        write_with_retry(store, "deploy", record, attempts=4, sleep=sleeps.append, max_delay=1.5)

    assert caught.value.message == "store unavailable (gave up after 4 attempts)"
    assert (store.calls, sleeps) == (4, [0.5, 1.0, 1.5])


def test_retry_stops_at_a_failure_that_cannot_heal(record: SecretRecord) -> None:
    conflict = SecretStoreConflictError("written by someone else")
    store = _FlakyStore(1, conflict)
    sleeps: list[float] = []

    with pytest.raises(SecretStoreConflictError) as caught:
        write_with_retry(store, "deploy", record, sleep=sleeps.append)

    assert (caught.value, store.calls, sleeps) == (conflict, 1, [])


def test_retry_needs_at_least_one_attempt(record: SecretRecord) -> None:
    with pytest.raises(ValueError, match=r"^attempts must be at least 1$"):
        write_with_retry(_FlakyStore(0, SecretStoreError("x")), "deploy", record, attempts=0)


def test_missing_extra_is_none_when_installed_and_names_the_pip_line_when_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert missing_extra("gcp-secret-manager") is None
    assert missing_extra("file") is None
    # Not even the namespace package: find_spec fails on the parent.
    monkeypatch.delitem(sys.modules, "google.cloud.secretmanager", raising=False)
    monkeypatch.setitem(sys.modules, "google.cloud", None)

    assert missing_extra("gcp-secret-manager") == (
        "the gcp-secret-manager store needs certgov's 'gcp' extra, which is not installed;"
        " run: pip install 'certgov[gcp]'"
    )


def test_client_libraries_are_imported_only_when_a_store_is_built() -> None:
    code = (
        "import sys, certgov.cli, certgov.apply.stores, certgov.declarations\n"
        "roots = {'azure', 'google', 'hvac', 'boto3', 'botocore'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in roots))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )

    assert done.stdout == "[]\n"
