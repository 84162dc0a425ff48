"""`certgov validate` through the CLI and its error boundary: exit codes and whole output."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import git
import pytest
from click.testing import CliRunner

from certgov.cli.main import cli
from certgov.declarations import load
from tests.declarations.helpers import QUICKSTART, REPO, write_repo

ACCOUNT = "apiVersion: certgov/v1\nkind: ServiceAccount\nname: {}\nscopes: [{}]\n"


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["validate", *args])
    return result.exit_code, result.stdout, result.stderr


def test_valid_repository_prints_the_counts() -> None:
    assert _run(str(QUICKSTART)) == (0, "ok: 3 service accounts, 3 policies\n", "")


def test_counts_use_the_singular_for_one(tmp_path: Path) -> None:
    write_repo(tmp_path, {"a.yaml": ACCOUNT.format("a", "read")})
    assert _run(str(tmp_path)) == (0, "ok: 1 service account, 0 policies\n", "")


def test_path_defaults_to_the_current_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(QUICKSTART)
    assert _run() == (0, "ok: 3 service accounts, 3 policies\n", "")


def test_invalid_repository_prints_every_problem_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_repo(
        tmp_path,
        {"a.yaml": ACCOUNT.format("a", "root"), "b.yaml": ACCOUNT.format("a", "read")},
    )
    monkeypatch.chdir(tmp_path)
    assert _run() == (
        1,
        "",
        "error: 2 problems in the declarations\n"
        "  a.yaml:4:10: scopes[0]: 'root' is not one of ['read', 'write', 'admin']\n"
        "  b.yaml:3:7: name: ServiceAccount 'a' is already declared at a.yaml:3:7\n",
    )


def test_json_success_document(tmp_path: Path) -> None:
    write_repo(tmp_path, {"a.yaml": ACCOUNT.format("a", "read")})
    code, out, err = _run(str(tmp_path), "--format", "json")
    document = json.loads(out)
    assert (code, err) == (0, "")
    assert document == {
        "valid": True,
        "counts": {"ServiceAccount": 1, "Policy": 0},
        "files": ["a.yaml"],
        "digest": load(tmp_path).digest,
        "git_commit": None,
        "problems": [],
        "warnings": [],
    }


def test_a_folder_without_certgov_yaml_reports_only_what_says_it_is_certgov(
    tmp_path: Path,
) -> None:
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "deploy.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\n")
    (tmp_path / "mkdocs.yml").write_text("site_name: x\n")
    (tmp_path / "a.yaml").write_text(ACCOUNT.format("a", "root"))
    code, out, err = _run(str(tmp_path))
    assert (code, out) == (1, "")
    assert err == (
        "error: 2 problems in the declarations\n"
        f"  {tmp_path}/a.yaml:4:10: scopes[0]: 'root' is not one of ['read', 'write', 'admin']\n"
        f"  {tmp_path}/certgov.yaml: missing: no certgov.yaml in {tmp_path} (certgov does not look"
        " in parent folders); a declarations repository has certgov.yaml at its root"
        " (apiVersion: certgov/v1, kind: Config): pass that folder, or create it there\n"
    )


def test_a_folder_above_the_repository_names_the_folders_below_that_hold_certgov_yaml(
    tmp_path: Path,
) -> None:
    write_repo(tmp_path / "infra" / "certgov", {"a.yaml": ACCOUNT.format("a", "read")})
    code, out, err = _run(str(tmp_path))
    assert (code, out) == (1, "")
    assert err.splitlines()[1] == (
        f"  {tmp_path}/certgov.yaml: missing: no certgov.yaml in {tmp_path} (certgov does not look"
        " in parent folders); a declarations repository has certgov.yaml at its root"
        " (apiVersion: certgov/v1, kind: Config); below it, infra/certgov has one: pass that"
        " folder"
    )


def test_json_problems_document_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_repo(tmp_path, {"a.yaml": ACCOUNT.format("a", "root")})
    (tmp_path / "certgov.yaml").unlink()
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(".", "--format", "json")
    assert (code, err) == (1, "")
    assert json.loads(out) == {
        "valid": False,
        "counts": None,
        "files": None,
        "digest": None,
        "git_commit": None,
        "problems": [
            {
                "file": "a.yaml",
                "line": 4,
                "col": 10,
                "field": "scopes[0]",
                "message": "'root' is not one of ['read', 'write', 'admin']",
            },
            {
                "file": "certgov.yaml",
                "line": None,
                "col": None,
                "field": "",
                "message": "missing: no certgov.yaml in . (certgov does not look in parent"
                " folders); a declarations repository has certgov.yaml at its root (apiVersion:"
                " certgov/v1, kind: Config): pass that folder, or create it there",
            },
        ],
        "warnings": [],
    }


def test_ref_validates_the_committed_tree(tmp_path: Path) -> None:
    write_repo(tmp_path, {"a.yaml": ACCOUNT.format("a", "read")})
    with git.Repo.init(tmp_path) as repo:
        repo.git.add(A=True)
        actor = git.Actor("Test", "test@example.com")
        repo.index.commit("v1", author=actor, committer=actor)
    (tmp_path / "a.yaml").write_text(ACCOUNT.format("a", "root"), encoding="utf-8")
    assert _run(str(tmp_path), "--ref", "HEAD") == (0, "ok: 1 service account, 0 policies\n", "")
    assert _run(str(tmp_path))[0] == 1


def test_unknown_ref_is_an_error_without_traceback(tmp_path: Path) -> None:
    write_repo(tmp_path, {})
    with git.Repo.init(tmp_path) as repo:
        repo.git.add(A=True)
        actor = git.Actor("Test", "test@example.com")
        repo.index.commit("v1", author=actor, committer=actor)
    assert _run(str(tmp_path), "--ref", "nope") == (1, "", "error: unknown git ref 'nope'\n")


def test_a_file_as_path_is_refused_by_click_with_exit_1() -> None:
    code, out, err = _run(str(REPO / "pyproject.toml"))
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == (
        f"Error: Invalid value for '[PATH]': Directory '{REPO / 'pyproject.toml'}' is a file."
    )


@pytest.mark.parametrize(
    ("store", "module", "extra"),
    [
        (
            "{type: azure-keyvault, vault_url: 'https://kv.vault.azure.net'}",
            "azure.identity",
            "azure",
        ),
        ("{type: gcp-secret-manager, project: certgov-prod}", "google.cloud.secretmanager", "gcp"),
        ("{type: vault, url: 'https://vault:8200'}", "hvac", "vault"),
        ("{type: aws, region: eu-west-1}", "boto3", "aws"),
    ],
)
def test_a_store_whose_extra_is_missing_names_the_pip_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: str, module: str, extra: str
) -> None:
    config = f"apiVersion: certgov/v1\nkind: Config\nsecret_stores:\n  cloud: {store}\n"
    write_repo(tmp_path, {}, config=config)
    monkeypatch.setitem(sys.modules, module, None)  # what find_spec sees of a missing module
    monkeypatch.chdir(tmp_path)

    kind = store.split(",")[0].removeprefix("{type: ")
    assert _run() == (
        1,
        "",
        "error: 1 problem in the declarations\n"
        f"  certgov.yaml:4:17: secret_stores.cloud.type: the {kind} store needs certgov's"
        f" '{extra}' extra, which is not installed; run: pip install 'certgov[{extra}]'\n",
    )
