"""Loading a repository: the desired State, its meta, config defaults, files, digest and git."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

import git
import pytest

from certgov.declarations import (
    MAX_FILE_BYTES,
    Config,
    LintConfig,
    ManageConfig,
    RolloutDefaults,
    SafetyConfig,
    load,
    loader,
)
from certgov.declarations.durations import format_duration, length_problem, parse_duration
from certgov.declarations.sources import glob_match
from certgov.declarations.yamlpos import load_documents
from certgov.errors import DeclarationError, Position, Problem, UsageError
from certgov.rules.catalogue import CATALOGUE
from certgov.state import POLICY, SERVICE_ACCOUNT
from tests.declarations.helpers import CONFIG, QUICKSTART, write_repo

ACCOUNT = """
apiVersion: certgov/v1
kind: ServiceAccount
name: ci
description: CI
scopes: [write, read]
ip_allowlist: [203.0.113.0/24, 192.0.2.1/32]
expires_at: 2027-06-30
secret: {store: local, path: clm/ci, rotate_after: 90d}
previous_names: [old-ci]
"""

POLICY_DOC = """
apiVersion: certgov/v1
kind: Policy
name: Prod
matching_criteria:
  action: certificate.renew
  domains: ["*.Prod.Example.com", bücher.example]
rules:
  - action: enforce_minimum_key_size
    fail: hard
    values: {minimum_bits: "03072"}
    rollout: {promote_after: 7d}
  - action: disable_wildcard
    fail: soft
tests:
  - name: small key
    request: {common_name: a.prod.example.com, key: {algorithm: rsa, size: 2048}}
    expect: block
    violations: [enforce_minimum_key_size]
  - name: csr
    csr_file: csr/a.pem
    request: {validity_days: 30}
    expect: warn
    applied_values: {organization: Example Ltd}
"""

CSR = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"


def _problems(path: Path) -> list[str]:
    with pytest.raises(DeclarationError) as info:
        load(path)
    return [str(p) for p in info.value.problems]


def test_quickstart_loads_three_accounts_and_three_policies() -> None:
    d = load(QUICKSTART)
    assert [r.address for r in d.state] == [
        "Policy/Development Policy",
        "Policy/Global Security Baseline",
        "Policy/Production Security Baseline",
        "ServiceAccount/admin-automation",
        "ServiceAccount/ci-policy-validation",
        "ServiceAccount/policy-pipeline",
    ]
    assert d.files == (
        "policies/development.yaml",
        "policies/global-baseline.yaml",
        "policies/production-baseline.yaml",
        "service-accounts/admin-automation.yaml",
        "service-accounts/ci-policy-validation.yaml",
        "service-accounts/policy-pipeline.yaml",
    )
    assert d.root == QUICKSTART


def test_account_spec_is_normalised_like_the_api(tmp_path: Path) -> None:
    d = load(write_repo(tmp_path, {"a.yaml": ACCOUNT}))
    assert d.state.get(SERVICE_ACCOUNT, "ci").spec == {  # type: ignore[union-attr]
        "name": "ci",
        "description": "CI",
        "scopes": ["read", "write"],
        "ip_allowlist": ["192.0.2.1", "203.0.113.0/24"],
        "expires_at": "2027-06-30T00:00:00+00:00",
        "enabled": True,
    }


def test_account_meta_holds_source_secret_and_previous_names(tmp_path: Path) -> None:
    root = write_repo(tmp_path, {"sub/a.yaml": ACCOUNT})
    d = load(root)
    meta = dict(d.state.get(SERVICE_ACCOUNT, "ci").meta)  # type: ignore[union-attr]
    assert meta == {
        "source": {"file": "sub/a.yaml", "line": 1, "col": 1},
        "secret": {"store": "local", "path": "clm/ci", "rotate_after_seconds": 7776000},
        "previous_names": ["old-ci"],
    }
    # Positions stay with the YAML document (the lint reads them there), not in the State.
    [document], _ = load_documents((root / "sub" / "a.yaml").read_text())
    assert document.positions == {
        "": (1, 1),
        "apiVersion": (1, 13),
        "kind": (2, 7),
        "name": (3, 7),
        "description": (4, 14),
        "scopes": (5, 9),
        "scopes[0]": (5, 10),
        "scopes[1]": (5, 17),
        "ip_allowlist": (6, 15),
        "ip_allowlist[0]": (6, 16),
        "ip_allowlist[1]": (6, 32),
        "expires_at": (7, 13),
        "secret": (8, 9),
        "secret.store": (8, 17),
        "secret.path": (8, 30),
        "secret.rotate_after": (8, 52),
        "previous_names": (9, 17),
        "previous_names[0]": (9, 18),
    }
    assert document.key_positions == {
        "apiVersion": (1, 1),
        "kind": (2, 1),
        "name": (3, 1),
        "description": (4, 1),
        "scopes": (5, 1),
        "ip_allowlist": (6, 1),
        "expires_at": (7, 1),
        "secret": (8, 1),
        "secret.store": (8, 10),
        "secret.path": (8, 24),
        "secret.rotate_after": (8, 38),
        "previous_names": (9, 1),
    }


def test_account_without_secret_has_none_and_defaults(tmp_path: Path) -> None:
    doc = "apiVersion: certgov/v1\nkind: ServiceAccount\nname: x\nscopes: [admin]\nenabled: false\n"
    d = load(write_repo(tmp_path, {"x.yml": doc}))
    account = d.state.get(SERVICE_ACCOUNT, "x")
    assert account is not None
    assert (account.spec, account.meta["secret"], account.meta["previous_names"]) == (
        {
            "name": "x",
            "description": "",
            "scopes": ["admin"],
            "ip_allowlist": [],
            "expires_at": None,
            "enabled": False,
        },
        None,
        [],
    )


def test_policy_spec_is_normalised_like_the_api(tmp_path: Path) -> None:
    d = load(write_repo(tmp_path, {"p.yaml": POLICY_DOC, "csr/a.pem": CSR}))
    assert d.state.get(POLICY, "Prod").spec == {  # type: ignore[union-attr]
        "name": "Prod",
        "description": "",
        "enabled": True,
        "matching_criteria": {
            "action": "certificate.renew",
            "domains": ["*.prod.example.com", "xn--bcher-kva.example"],
        },
        "rules": [
            {"action": "disable_wildcard", "fail": "soft"},
            {
                "action": "enforce_minimum_key_size",
                "fail": "hard",
                "values": {"minimum_bits": "3072"},
            },
        ],
    }


def test_policy_meta_holds_tests_rollout_and_previous_names(tmp_path: Path) -> None:
    d = load(write_repo(tmp_path, {"p.yaml": POLICY_DOC, "csr/a.pem": CSR}))
    meta = dict(d.state.get(POLICY, "Prod").meta)  # type: ignore[union-attr]
    assert set(meta) == {
        "source",
        "previous_names",
        "tests",
        "rollout",
    }
    assert meta["source"] == {"file": "p.yaml", "line": 1, "col": 1}
    assert meta["previous_names"] == []
    assert meta["rollout"] == {
        "enforce_minimum_key_size": {
            "start": "soft",
            "promote_after_seconds": 604800,
            "max_warnings": 0,
            "min_requests": 20,
        }
    }
    assert meta["tests"] == [
        {
            "name": "small key",
            "request": {
                "action": "certificate.renew",
                "common_name": "a.prod.example.com",
                "key": {"algorithm": "rsa", "size": 2048},
            },
            "expect": "block",
            "violations": ["enforce_minimum_key_size"],
            "source": {"file": "p.yaml", "line": 15, "col": 5},
        },
        {
            "name": "csr",
            "csr_file": "csr/a.pem",
            "request": {"action": "certificate.renew", "validity_days": 30, "csr": CSR},
            "expect": "warn",
            "applied_values": {"organization": "Example Ltd"},
            "source": {"file": "p.yaml", "line": 19, "col": 5},
        },
    ]


def test_rollout_defaults_come_from_certgov_yaml(tmp_path: Path) -> None:
    config = CONFIG + "rollout: {promote_after: 2w, max_warnings: 3, min_requests: 5}\n"
    d = load(write_repo(tmp_path, {"p.yaml": POLICY_DOC, "csr/a.pem": CSR}, config=config))
    assert d.state.get(POLICY, "Prod").meta["rollout"] == {  # type: ignore[union-attr]
        "enforce_minimum_key_size": {
            "start": "soft",
            "promote_after_seconds": 604800,
            "max_warnings": 3,
            "min_requests": 5,
        }
    }
    assert d.config.rollout == RolloutDefaults("soft", 1209600, 3, 5)


def test_config_defaults_fill_every_omitted_section(tmp_path: Path) -> None:
    d = load(write_repo(tmp_path, {}, config="apiVersion: certgov/v1\nkind: Config\n"))
    assert d.config == Config()
    assert d.config.manage == {
        SERVICE_ACCOUNT: ManageConfig(prune=False, ignore=()),
        POLICY: ManageConfig(prune=False, ignore=()),
    }
    assert (d.config.safety, d.config.rollout, d.config.lint) == (
        SafetyConfig(0.3, 10),
        RolloutDefaults("soft", 14 * 86400, 0, 20),
        LintConfig((), {}),
    )
    assert (d.config.include, d.config.exclude) == (("**/*.yaml", "**/*.yml"), ())


def test_config_sections_are_read(tmp_path: Path) -> None:
    config = """
apiVersion: certgov/v1
kind: Config
server: https://clm.example.com/
secret_stores:
  vault-prod: {type: vault, url: "https://vault.example:8200", mount: kv}
manage:
  ServiceAccount: {prune: delete, ignore: [bootstrap-*]}
safety: {max_changes_fraction: 0.5, min_objects: 3}
lint: {disable: [CG004], levels: {CG002: error}}
"""
    d = load(write_repo(tmp_path, {}, config=config.lstrip("\n")))
    assert d.config == Config(
        server="https://clm.example.com",
        secret_stores={
            "vault-prod": {"type": "vault", "url": "https://vault.example:8200", "mount": "kv"}
        },
        manage={
            SERVICE_ACCOUNT: ManageConfig(prune="delete", ignore=("bootstrap-*",)),
            POLICY: ManageConfig(),
        },
        safety=SafetyConfig(0.5, 3),
        lint=LintConfig(("CG004",), {"CG002": "error"}),
    )


def test_include_and_exclude_globs_select_files(tmp_path: Path) -> None:
    config = CONFIG + "include: ['accounts/**/*.yaml']\nexclude: ['**/draft-*.yaml']\n"
    doc = "apiVersion: certgov/v1\nkind: ServiceAccount\nname: {}\nscopes: [read]\n"
    root = write_repo(
        tmp_path,
        {
            "accounts/a.yaml": doc.format("a"),
            "accounts/team/b.yaml": doc.format("b"),
            "accounts/team/draft-c.yaml": doc.format("c"),
            "other/d.yaml": doc.format("d"),
        },
        config=config,
    )
    d = load(root)
    assert d.files == ("accounts/a.yaml", "accounts/team/b.yaml")


def test_hidden_folders_and_files_and_other_extensions_are_skipped(tmp_path: Path) -> None:
    root = write_repo(
        tmp_path,
        {
            ".github/workflows/ci.yml": "on: push\n",
            ".certgov-secrets/x.yaml": "secret: 1\n",
            ".pre-commit-config.yaml": "repos: []\n",
            "README.md": "# repo\n",
            "a.yaml": ACCOUNT,
        },
    )
    assert load(root).files == ("a.yaml",)


def test_multi_document_files_declare_several_objects(tmp_path: Path) -> None:
    doc = "apiVersion: certgov/v1\nkind: ServiceAccount\nname: {}\nscopes: [read]\n"
    text = "---\n" + doc.format("a") + "---\n" + doc.format("b") + "---\n"
    d = load(write_repo(tmp_path, {"all.yaml": text}))
    assert [(r.name, r.meta["source"]) for r in d.state] == [
        ("a", {"file": "all.yaml", "line": 2, "col": 1}),
        ("b", {"file": "all.yaml", "line": 7, "col": 1}),
    ]


def test_digit_string_and_integer_values_compare_equal(tmp_path: Path) -> None:
    a = load(write_repo(tmp_path / "a", {"p.yaml": POLICY_DOC, "csr/a.pem": CSR}))
    b_doc = POLICY_DOC.replace('minimum_bits: "03072"', "minimum_bits: 3072")
    b = load(write_repo(tmp_path / "b", {"p.yaml": b_doc, "csr/a.pem": CSR}))
    assert a.state.get(POLICY, "Prod").spec == b.state.get(POLICY, "Prod").spec  # type: ignore[union-attr]


def test_digest_covers_paths_and_bytes_of_every_file_read(tmp_path: Path) -> None:
    root = write_repo(tmp_path, {"p.yaml": POLICY_DOC, "csr/a.pem": CSR})
    expected = hashlib.sha256()
    for rel in ("certgov.yaml", "csr/a.pem", "p.yaml"):
        data = (root / rel).read_bytes()
        expected.update(f"{len(rel)}:{rel}:{len(data)}:".encode())
        expected.update(data)
    assert load(root).digest == f"sha256:{expected.hexdigest()}"


def test_digest_changes_when_certgov_yaml_changes(tmp_path: Path) -> None:
    root = write_repo(tmp_path, {"a.yaml": ACCOUNT})
    before = load(root).digest
    (root / "certgov.yaml").write_text(CONFIG + "server: https://x.example\n", encoding="utf-8")
    assert load(root).digest != before


def test_files_over_five_mib_are_refused(tmp_path: Path) -> None:
    padding = "#" * 1023 + "\n"
    big = ACCOUNT + padding * (MAX_FILE_BYTES // 1024 + 1)
    root = write_repo(tmp_path, {"big.yaml": big})
    size = (root / "big.yaml").stat().st_size
    assert _problems(root) == [f"{root}/big.yaml: the file is {size} bytes; the limit is 5 MiB"]


def test_problems_are_reported_relative_to_the_path_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_repo(
        tmp_path / "repo", {"a.yaml": ACCOUNT.replace("scopes: [write, read]", "scopes: []")}
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DeclarationError) as info:
        load("repo")
    assert info.value.problems == [
        Problem(Position("repo/a.yaml", 5, 9), "scopes", "[] should be non-empty")
    ]
    monkeypatch.chdir(tmp_path / "repo")
    with pytest.raises(DeclarationError) as info:
        load(".")
    assert info.value.problems == [
        Problem(Position("a.yaml", 5, 9), "scopes", "[] should be non-empty")
    ]


def test_schema_problems_do_not_hide_other_problems_of_the_same_document(tmp_path: Path) -> None:
    doc = ACCOUNT.replace("scopes: [write, read]", "scopes: [root]").replace(
        "192.0.2.1/32", "192.0.2.1/24"
    )
    root = write_repo(tmp_path, {"a.yaml": doc})
    assert _problems(root) == [
        f"{root}/a.yaml:5:10: scopes[0]: 'root' is not one of ['read', 'write', 'admin']",
        f"{root}/a.yaml:6:32: ip_allowlist[1]: 192.0.2.1/24 has host bits set",
    ]


def test_a_broken_certgov_yaml_still_reports_the_other_files(tmp_path: Path) -> None:
    root = write_repo(
        tmp_path,
        {"a.yaml": ACCOUNT},
        config="apiVersion: certgov/v1\nkind: Config\nsafety: {min_objects: -1}\n",
    )
    assert _problems(root) == [
        f"{root}/a.yaml:8:17: secret.store: unknown secret store 'local';"
        " certgov.yaml declares no secret_stores",
        f"{root}/certgov.yaml:3:23: safety.min_objects: -1 is less than the minimum of 0",
    ]


def test_a_path_that_is_not_a_folder_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is not a folder"):
        load(tmp_path / "missing")


def test_globs_cross_folders_only_with_double_star() -> None:
    assert [
        glob_match("*.yaml", "a.yaml"),
        glob_match("*.yaml", "x/a.yaml"),
        glob_match("**/*.yaml", "a.yaml"),
        glob_match("**/*.yaml", "x/y/a.yaml"),
        glob_match("x/**", "x/y/a.yaml"),
        glob_match("x/?.yaml", "x/a.yaml"),
        glob_match("x/?.yaml", "x/ab.yaml"),
        glob_match("a+b.yaml", "a+b.yaml"),
    ] == [True, False, True, True, True, True, False, True]


def test_durations_read_every_unit() -> None:
    assert [parse_duration(t) for t in ("30s", "5m", "12h", "90d", "2w")] == [
        30,
        300,
        43200,
        7776000,
        1209600,
    ]
    with pytest.raises(ValueError, match="not a duration: '90 days'"):
        parse_duration("90 days")
    assert [format_duration(s) for s in (0, 45, 300, 7776000, 1209600)] == [
        "0s",
        "45s",
        "5m",
        "90d",
        "2w",
    ]


# -- git ---------------------------------------------------------------------------------------


def _commit_all(repo: git.Repo, message: str) -> str:
    repo.git.add(A=True)
    actor = git.Actor("Test", "test@example.com")
    return repo.index.commit(message, author=actor, committer=actor).hexsha


def test_a_clean_git_work_tree_reports_its_head_commit(tmp_path: Path) -> None:
    root = write_repo(tmp_path, {"a.yaml": ACCOUNT})
    with git.Repo.init(tmp_path) as repo:
        sha = _commit_all(repo, "v1")
    assert load(root).git_commit == sha


def test_a_dirty_git_work_tree_reports_no_commit(tmp_path: Path) -> None:
    root = write_repo(tmp_path, {"a.yaml": ACCOUNT})
    with git.Repo.init(tmp_path) as repo:
        _commit_all(repo, "v1")
    (root / "a.yaml").write_text(ACCOUNT.replace("CI", "changed"), encoding="utf-8")
    assert load(root).git_commit is None


def test_the_git_question_is_asked_on_a_thread_while_the_files_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_repo(tmp_path, {"a.yaml": ACCOUNT})
    asked: list[str] = []
    started = threading.Event()

    def commit(folder: Path) -> str:
        asked.append(threading.current_thread().name)
        started.set()
        return "c0ffee"

    def declared(self: loader._Load, files: list[str]) -> Any:
        assert started.wait(10), "the git question was not asked while the files were read"
        return read(self, files)

    read = loader._Load.declared
    monkeypatch.setattr(loader, "head_commit", commit)
    monkeypatch.setattr(loader._Load, "declared", declared)
    assert load(root).git_commit == "c0ffee"
    assert asked == ["certgov-git"]

    def broken(folder: Path) -> str:
        raise OSError("git is broken")

    monkeypatch.setattr(loader, "head_commit", broken)
    monkeypatch.setattr(loader._Load, "declared", read)
    with pytest.raises(OSError, match="git is broken"):
        load(root)


def test_outside_git_there_is_no_commit(tmp_path: Path) -> None:
    assert load(write_repo(tmp_path, {"a.yaml": ACCOUNT})).git_commit is None


def test_ref_loads_the_committed_tree_without_checkout(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "decl", {"a.yaml": ACCOUNT})
    (tmp_path / "README.md").write_text("outside the declarations\n", encoding="utf-8")
    with git.Repo.init(tmp_path) as repo:
        sha = _commit_all(repo, "v1")
        (root / "a.yaml").write_text(ACCOUNT.replace("description: CI", "description: v2"))
        (root / "b.yaml").write_text(
            ACCOUNT.replace("name: ci", "name: new").replace("old-ci", "x")
        )
        _commit_all(repo, "v2")
        (root / "a.yaml").write_text("not: [valid\n", encoding="utf-8")
    at_v1 = load(root, ref=sha)
    assert (at_v1.git_commit, at_v1.files) == (sha, ("a.yaml",))
    assert at_v1.state.get(SERVICE_ACCOUNT, "ci").spec["description"] == "CI"  # type: ignore[union-attr]
    at_head = load(root, ref="HEAD")
    assert at_head.files == ("a.yaml", "b.yaml")
    assert at_head.state.get(SERVICE_ACCOUNT, "ci").spec["description"] == "v2"  # type: ignore[union-attr]


def test_folder_and_git_tree_read_the_same_bytes_and_refuse_the_same_size(tmp_path: Path) -> None:
    from certgov.declarations.sources import DirectoryTree, TooLargeError, open_git_tree

    files = {"empty.yaml": b"", "small.yaml": b"a: 1\n", "big.yaml": bytes(range(256)) * 600}
    for rel, data in files.items():
        (tmp_path / rel).write_bytes(data)
    with git.Repo.init(tmp_path) as repo:
        _commit_all(repo, "v1")
    folder = DirectoryTree(tmp_path)
    with open_git_tree(tmp_path, "HEAD") as (at_head, _):
        for tree in (folder, at_head):
            assert {rel: tree.read(rel) for rel in files} == files
            assert tree.read("big.yaml", 153_600) == files["big.yaml"]
            with pytest.raises(TooLargeError) as refused:
                tree.read("big.yaml", 153_599)
            assert refused.value.size == 153_600


def test_ref_at_the_repository_root_reads_every_file(tmp_path: Path) -> None:
    root = write_repo(tmp_path, {"a.yaml": ACCOUNT, ".hidden/x.yaml": "x: 1\n"})
    with git.Repo.init(tmp_path) as repo:
        sha = _commit_all(repo, "v1")
    assert load(root, ref="HEAD").digest == load(root).digest
    assert load(root, ref="HEAD").git_commit == sha


def test_ref_problems_name_the_files_like_a_folder_load(tmp_path: Path) -> None:
    root = write_repo(tmp_path, {"a.yaml": ACCOUNT.replace("[write, read]", "[wrong]")})
    with git.Repo.init(tmp_path) as repo:
        _commit_all(repo, "v1")
    with pytest.raises(DeclarationError) as info:
        load(root, ref="HEAD")
    assert [str(p) for p in info.value.problems] == [
        f"{root}/a.yaml:5:10: scopes[0]: 'wrong' is not one of ['read', 'write', 'admin']"
    ]


def test_an_unknown_ref_is_a_usage_error(tmp_path: Path) -> None:
    root = write_repo(tmp_path, {"a.yaml": ACCOUNT})
    with git.Repo.init(tmp_path) as repo:
        _commit_all(repo, "v1")
    with pytest.raises(UsageError, match="unknown git ref 'no-such-branch'"):
        load(root, ref="no-such-branch")


def test_ref_outside_a_git_repository_is_a_usage_error(tmp_path: Path) -> None:
    root = write_repo(tmp_path, {"a.yaml": ACCOUNT})
    with pytest.raises(UsageError, match="--ref needs a git repository"):
        load(root, ref="HEAD")


def test_ref_without_the_folder_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("x\n", encoding="utf-8")
    with git.Repo.init(tmp_path) as repo:
        _commit_all(repo, "v1")
    root = write_repo(tmp_path / "decl", {"a.yaml": ACCOUNT})
    with pytest.raises(UsageError, match="decl does not exist at git ref 'HEAD'"):
        load(root, ref="HEAD")


def test_csr_files_must_be_relative_pem_requests(tmp_path: Path) -> None:
    doc = POLICY_DOC.replace("csr_file: csr/a.pem", "csr_file: /etc/a.pem")
    doc += "  - name: binary\n    csr_file: csr/b.der\n    expect: pass\n"
    root = write_repo(tmp_path, {"p.yaml": doc, "csr/b.der": b"\x30\x82\xff"})
    assert _problems(root) == [
        f"{root}/p.yaml:20:15: tests[1].csr_file: must be a path inside the repository,"
        " relative to this file",
        f"{root}/p.yaml:25:15: tests[2].csr_file: {root}/csr/b.der is not a PEM certificate"
        " request",
    ]


def test_values_of_an_unknown_rule_action_are_left_to_the_schema(tmp_path: Path) -> None:
    doc = POLICY_DOC.replace("action: disable_wildcard", "action: no_such_rule")
    doc = doc.replace("fail: soft\ntests", "fail: soft\n    values: {n: 1}\ntests")
    root = write_repo(tmp_path, {"p.yaml": doc, "csr/a.pem": CSR})
    assert _problems(root) == [
        f"{root}/p.yaml:12:13: rules[1].action: 'no_such_rule' is not one of "
        + repr([spec.action for spec in CATALOGUE])
    ]


def test_a_git_repository_without_commits_reports_no_commit(tmp_path: Path) -> None:
    root = write_repo(tmp_path, {"a.yaml": ACCOUNT})
    git.Repo.init(tmp_path).close()
    assert load(root).git_commit is None


def test_symlinks_leading_outside_the_repository_are_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.yaml").write_text("secret: do not read\n", encoding="utf-8")
    (outside / "a.pem").write_text(CSR, encoding="utf-8")
    root = write_repo(tmp_path / "repo", {"p.yaml": POLICY_DOC})
    (root / "link.yaml").symlink_to(outside / "x.yaml")
    (root / "csr").mkdir()
    (root / "csr" / "a.pem").symlink_to(outside / "a.pem")
    assert _problems(root) == [
        f"{root}/p.yaml:20:15: tests[1].csr_file: no such file: {root}/csr/a.pem"
    ]


def test_symlinks_inside_the_repository_are_read(tmp_path: Path) -> None:
    root = write_repo(tmp_path, {"real/a.yaml": ACCOUNT})
    (root / "a.yaml").symlink_to(root / "real" / "a.yaml")
    (root / "certgov.yaml").write_text(CONFIG + "include: ['*.yaml']\n", encoding="utf-8")
    assert load(root).files == ("a.yaml",)


def test_durations_of_ten_years_are_the_longest_accepted() -> None:
    assert [length_problem(t) for t in ("3650d", "521w", "87600h", "315360000s")] == [None] * 4
    assert [length_problem(t) for t in ("3651d", "522w", "1" + "0" * 20 + "d")] == [
        "must be at most 3650 days (3650d)"
    ] * 3


def test_durations_past_ten_years_are_refused_where_they_are_written(tmp_path: Path) -> None:
    policy = POLICY_DOC.replace("promote_after: 7d", "promote_after: 522w")
    root = write_repo(
        tmp_path,
        {
            "a.yaml": ACCOUNT.replace("rotate_after: 90d", "rotate_after: 3651d"),
            "p.yaml": policy,
            "csr/a.pem": CSR,
        },
        config=CONFIG + "rollout: {promote_after: 99999999999999999999d}\n",
    )
    assert _problems(root) == [
        f"{root}/a.yaml:8:52: secret.rotate_after: must be at most 3650 days (3650d)",
        f"{root}/certgov.yaml:5:26: rollout.promote_after: must be at most 3650 days (3650d)",
        f"{root}/p.yaml:11:30: rules[0].rollout.promote_after: must be at most 3650 days (3650d)",
    ]


def test_a_secret_path_the_stores_refuse_is_refused_where_it_is_written(tmp_path: Path) -> None:
    doc = ACCOUNT.replace("path: clm/ci", "path: ../../etc/passwd")
    root = write_repo(tmp_path, {"a.yaml": doc})
    assert _problems(root) == [
        f"{root}/a.yaml:8:30: secret.path: secret path '../../etc/passwd' is not allowed: use"
        " relative segments of letters, digits, '.', '_' and '-' separated by '/', none starting"
        " with '.' (at most 256 characters)"
    ]


def test_names_with_control_or_bidi_characters_are_refused_where_they_are_written(
    tmp_path: Path,
) -> None:
    account = ACCOUNT.replace("name: ci", 'name: "ci\\nadmin"').replace(
        "previous_names: [old-ci]", 'previous_names: ["old\\u202eic"]'
    )
    policy = POLICY_DOC.replace("name: Prod", 'name: "Prod\\u2066"')
    root = write_repo(tmp_path, {"a.yaml": account, "p.yaml": policy, "csr/a.pem": CSR})
    assert _problems(root) == [
        f"{root}/a.yaml:3:7: name: must not hold the control character U+000A",
        f"{root}/a.yaml:9:18: previous_names[0]: must not hold the bidirectional control"
        " character U+202E",
        f"{root}/p.yaml:3:7: name: must not hold the bidirectional control character U+2066",
    ]


def test_another_tools_yaml_file_gets_a_hint_about_exclude(tmp_path: Path) -> None:
    root = write_repo(tmp_path, {"mkdocs.yml": "site_name: docs\ntheme: {name: material}\n"})
    with pytest.raises(DeclarationError) as info:
        load(root)
    assert info.value.problems == [
        Problem(
            Position(str(root / "mkdocs.yml")),
            "",
            "not a certgov declaration (no apiVersion, no kind); if it is another tool's file "
            "(mkdocs.yml, a CI file), list it under exclude: in certgov.yaml",
        )
    ]
