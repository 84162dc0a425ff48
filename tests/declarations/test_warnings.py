"""What is valid but probably not meant: validate's and plan's warnings, each whole."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from certgov.cli import cli
from certgov.declarations import load
from certgov.declarations.warnings import warnings

CONFIG = """apiVersion: certgov/v1
kind: Config
secret_stores:
  local: {type: file, path: .certgov-secrets}
manage:
  ServiceAccount: {ignore: ["legacy-*"]}
"""
ACCOUNT = "apiVersion: certgov/v1\nkind: ServiceAccount\nname: {}\nscopes: [read]\n"


def repo(tmp_path: Path, config: str = CONFIG, names: tuple[str, ...] = ("ci",)) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "certgov.yaml").write_text(config)
    (root / "accounts.yaml").write_text("---\n".join(ACCOUNT.format(n) for n in names))
    return root


def test_no_warning_for_plain_declarations(tmp_path: Path) -> None:
    assert warnings(load(repo(tmp_path)), {}) == ()


def test_a_declared_object_that_ignore_matches_is_a_warning(tmp_path: Path) -> None:
    decls = load(repo(tmp_path, names=("ci", "legacy-a")))
    assert warnings(decls, {}) == (
        "accounts.yaml:6:1: ServiceAccount/legacy-a is declared, but manage.ServiceAccount.ignore "
        "matches it ('legacy-*'): it is never planned; remove it from the declarations or from "
        "ignore",
    )


def test_a_file_store_on_a_ci_runner_is_a_warning(tmp_path: Path) -> None:
    assert warnings(load(repo(tmp_path)), {"CI": "true"}) == (
        "certgov.yaml: secret_stores.local is a file store, and this is a CI runner (CI=true): "
        "the secrets apply writes there are lost with the runner, and plan finds no record of "
        "the secrets in use; use a vault, aws or command store in CI",
    )


def test_a_file_store_outside_the_repository_is_a_warning_naming_the_resolved_path(
    tmp_path: Path,
) -> None:
    root = repo(tmp_path, CONFIG.replace("path: .certgov-secrets", "path: ../../.."))
    assert warnings(load(root), {}) == (
        f"certgov.yaml: secret_stores.local.path '../../..' resolves to "
        f"{(root / '../../..').resolve()}, outside the repository at {root.resolve()}",
    )


def test_validate_prints_warnings_on_stderr_and_stays_valid(tmp_path: Path) -> None:
    root = repo(tmp_path, names=("ci", "legacy-a"))
    result = CliRunner(env={"CI": "true"}).invoke(cli, ["validate", str(root)])
    assert (result.exit_code, result.stdout) == (0, "ok: 2 service accounts, 0 policies\n")
    assert result.stderr.splitlines() == [
        f"warning: {w}" for w in warnings(load(root), {"CI": "true"})
    ]
