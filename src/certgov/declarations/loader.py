"""Loading a declarations repository into the desired State, reporting every problem at once.

The order of work: read `certgov.yaml`; select the declaration files; read each file (size,
encoding, tabs, YAML with positions); validate every document with the JSON Schemas; check what
the schemas cannot say (addresses, dates, domain patterns, names across files, secret stores,
tests); then, only when nothing is wrong, build each Resource through the State normalisers.

Each desired Resource's `meta` (not compared with live state):

    source          {"file": rel_path, "line", "col"} of the document
    previous_names  [old names]: a live object with one of them is renamed
    ServiceAccount  secret: {"store", "path", "rotate_after_seconds" | None} | None
    Policy          tests: [{"name", "request" (action defaulted to the policy's; with a
                    csr_file, {"action", "csr": PEM, "validity_days"?}), "csr_file"?
                    (repo-relative), "expect", "violations"?, "applied_values"?, "source"}],
                    rollout: {rule_action: {"start", "promote_after_seconds", "max_warnings",
                    "min_requests"}} with certgov.yaml's defaults filled in
"""

from __future__ import annotations

import copy
import hashlib
import multiprocessing
import os
import posixpath
import sys
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from pathlib import Path
from types import MappingProxyType
from typing import Any

from certgov.declarations import checks
from certgov.declarations.checks import Declared, locate
from certgov.declarations.config import CONFIG_FILE, Config
from certgov.declarations.durations import parse_duration
from certgov.declarations.schemas import validate
from certgov.declarations.sources import (
    DirectoryTree,
    SourceTree,
    head_commit,
    open_git_tree,
    select,
)
from certgov.declarations.yamlpos import load_documents
from certgov.errors import Position, Problem, ProblemCollector, UsageError
from certgov.gcpause import gc_paused
from certgov.rules.catalogue import BY_ACTION
from certgov.state import POLICY, SERVICE_ACCOUNT, Resource, State, policy_spec
from certgov.state import service_account_spec as account_spec

MAX_FILE_BYTES = 5 * 1024 * 1024
_KINDS = ("Config", SERVICE_ACCOUNT, POLICY)


@dataclass(frozen=True)
class Declarations:
    """A loaded repository: its config, the desired State, and what it was loaded from.

    `files` are the declaration files (relative POSIX paths, certgov.yaml not among them);
    `digest` is "sha256:<hex>" over the relative path and bytes of every file read, certgov.yaml
    and CSR files included, in path order.
    """

    root: Path
    config: Config
    state: State
    files: tuple[str, ...]
    digest: str
    git_commit: str | None


def _coerce_numbers(doc: Any) -> Any:
    """A Policy document with digit-string rule values turned into integers (a copy where any
    is; the document itself stays as written).

    The API takes `"3072"` or `3072` alike; turning digits into the integer first lets the
    schema's `minimum`/`maximum` check both spellings.
    """
    if not isinstance(doc, dict) or doc.get("kind") != POLICY:
        return doc
    rules = doc.get("rules")
    if not isinstance(rules, list):
        return doc
    coerced = [_coerce_rule(rule) for rule in rules]
    if all(new is old for new, old in zip(coerced, rules, strict=True)):
        return doc
    return {**doc, "rules": coerced}


def _coerce_rule(rule: Any) -> Any:
    if not isinstance(rule, dict) or not isinstance(rule.get("values"), dict):
        return rule
    spec = BY_ACTION.get(str(rule.get("action")))
    if spec is None:
        return rule
    values = dict(rule["values"])
    for value in spec.values:
        raw = values.get(value.key)
        if value.type == "int" and isinstance(raw, str) and raw.isascii() and raw.isdigit():
            values[value.key] = int(raw)
    return rule if values == rule["values"] else {**rule, "values": values}


def _first_bad_byte(data: bytes, error: UnicodeDecodeError) -> tuple[int, int]:
    before = data[: error.start]
    line = before.count(b"\n") + 1
    col = error.start - (before.rfind(b"\n") + 1) + 1
    return line, col


class _Load:
    """One run of the loader over one tree; collects problems instead of stopping at the first."""

    def __init__(self, tree: SourceTree, display_root: str) -> None:
        self.tree = tree
        self.display_root = display_root
        self.problems = ProblemCollector()
        self.read_files: dict[str, bytes] = {}
        self.csr_texts: dict[str, str] = {}

    def display(self, rel: str) -> str:
        if self.display_root in ("", "."):
            return rel
        return posixpath.normpath(posixpath.join(self.display_root, rel))

    def add(self, rel: str, line: int, col: int, field: str, message: str) -> None:
        self.problems.add(Position(self.display(rel), line, col), field, message)

    # -- files ---------------------------------------------------------------------------------

    def read_text(self, rel: str) -> str | None:
        """The text of a file, or None after reporting why it cannot be used."""
        size = self.tree.size(rel)
        if size > MAX_FILE_BYTES:
            self.add(rel, 0, 0, "", f"the file is {size} bytes; the limit is 5 MiB")
            return None
        data = self.tree.read(rel)
        self.read_files[rel] = data
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line, col = _first_bad_byte(data, exc)
            self.add(rel, line, col, "", "the file is not UTF-8 text")
            return None
        if "\t" not in text:
            return text
        for number, content in enumerate(text.splitlines(), start=1):
            col = content.find("\t")
            if col >= 0:
                self.add(rel, number, col + 1, "", "a tab character; indent with spaces")
        return None

    def documents(self, rel: str) -> list[Declared]:
        """The documents of a file that are mappings with a known kind; every problem reported.

        Documents with schema problems are returned too, with the paths found wrong, so that
        the checks beyond the schema can still look at their other parts.
        """
        text = self.read_text(rel)
        if text is None:
            return []
        documents, yaml_problems = load_documents(text)
        for p in yaml_problems:
            self.add(rel, p.line, p.col, p.path, p.message)
        out: list[Declared] = []
        for document in documents:
            doc = _coerce_numbers(document.value)
            if isinstance(doc, dict) and not ({"apiVersion", "kind"} & doc.keys()):
                # Most likely another tool's YAML that the include globs picked up.
                self.add(
                    rel,
                    0,
                    0,
                    "",
                    "not a certgov declaration (no apiVersion, no kind); if it is another "
                    "tool's file (mkdocs.yml, a CI file), list it under exclude: in certgov.yaml",
                )
                continue
            schema_problems = validate(doc)
            for sp in schema_problems:
                line, col = locate(document, sp.path, key=sp.key)
                self.add(rel, line, col, sp.path, sp.message)
            if isinstance(doc, dict) and doc.get("kind") in _KINDS:
                bad = frozenset(node for sp in schema_problems for node in sp.nodes)
                name = doc.get("name") if isinstance(doc.get("name"), str) else None
                out.append(Declared(doc["kind"], name, doc, rel, document, bad))
        return out

    # -- config --------------------------------------------------------------------------------

    def config(self) -> Config:
        if not self.tree.exists(CONFIG_FILE):
            self.add(
                CONFIG_FILE,
                0,
                0,
                "",
                f"missing: no certgov.yaml in {self.display_root or '.'} (certgov does not look"
                " in parent folders); a declarations repository has certgov.yaml at its root"
                " (apiVersion: certgov/v1, kind: Config): pass that folder, or create it there",
            )
            return Config()
        config: Config | None = None
        for item in self.documents(CONFIG_FILE):
            line, col = locate(item.document, "kind")
            if item.kind != "Config":
                self.add(
                    CONFIG_FILE,
                    line,
                    col,
                    "kind",
                    f"certgov.yaml holds only the Config document; declare {item.kind}"
                    " objects in other files",
                )
            elif config is not None:
                self.add(CONFIG_FILE, line, col, "kind", "a second Config document")
            else:
                checks.check_config(self, item)
                if item.valid:
                    config = Config.from_document(item.doc)
        return config or Config()

    # -- declarations --------------------------------------------------------------------------

    def declared(self, files: Iterable[str]) -> list[Declared]:
        out: list[Declared] = []
        for rel in files:
            for item in self.documents(rel):
                if item.kind == "Config":
                    line, col = locate(item.document, "kind")
                    self.add(
                        rel, line, col, "kind", "kind Config belongs in certgov.yaml at the root"
                    )
                    continue
                out.append(item)
        return out

    def declared_in_parallel(self, files: list[str]) -> list[Declared]:
        """`declared`, the second half of a large folder's files read in a forked process.

        Reading, YAML and schema checks are pure CPU: on a second core they take about half the
        time. The result is the same, in the same order; where forking is unsafe or not worth
        it (a git tree, few files, one CPU, other threads running), everything is read here.
        """
        context = _fork_context() if len(files) >= PARALLEL_FILES else None
        if context is None or not isinstance(self.tree, DirectoryTree):
            return self.declared(files)
        half = len(files) // 2
        with ProcessPoolExecutor(1, mp_context=context) as pool:
            future = pool.submit(_declared_elsewhere, self.tree, self.display_root, files[half:])
            first = self.declared(files[:half])
            try:
                problems, read_files, second = future.result()
            except BrokenProcessPool:
                return first + self.declared(files[half:])
        self.problems.problems.extend(problems)
        self.read_files.update(read_files)
        return first + second


# From this many declaration files on, a forked process reads half of them (see
# _Load.declared_in_parallel); below it, forking costs more than it saves.
PARALLEL_FILES = 1000


def _fork_context() -> BaseContext | None:
    """Fork where it is safe and useful: on Linux, with two CPUs or more, and with no other
    thread in this process (a fork copies the locks other threads may be holding)."""
    if sys.platform != "linux" or (os.cpu_count() or 1) < 2 or threading.active_count() > 1:
        return None
    return multiprocessing.get_context("fork")


def _declared_elsewhere(
    tree: DirectoryTree, display_root: str, files: list[str]
) -> tuple[list[Problem], dict[str, bytes], list[Declared]]:
    run = _Load(tree, display_root)
    declared = run.declared(files)
    return run.problems.problems, run.read_files, declared


def _source(item: Declared) -> dict[str, Any]:
    return {"file": item.file, "line": item.document.line, "col": item.document.col}


def _account(item: Declared) -> Resource:
    assert item.name is not None
    doc = item.doc
    secret = doc.get("secret")
    after = secret.get("rotate_after") if secret else None
    meta = {
        "source": _source(item),
        "secret": {
            "store": secret["store"],
            "path": secret["path"],
            "rotate_after_seconds": parse_duration(after) if after else None,
        }
        if secret
        else None,
        "previous_names": list(doc.get("previous_names") or []),
    }
    return Resource(SERVICE_ACCOUNT, item.name, account_spec(doc), MappingProxyType(meta))


def _test(
    item: Declared, index: int, test: Mapping[str, Any], csr_texts: Mapping[str, str]
) -> dict[str, Any]:
    action = item.doc["matching_criteria"]["action"]
    request: dict[str, Any] = {"action": action, **copy.deepcopy(test.get("request") or {})}
    out: dict[str, Any] = {"name": test["name"]}
    csr_file = test.get("csr_file")
    if csr_file is not None:
        rel = checks.csr_path(item.file, csr_file)
        assert rel is not None  # checked before anything is built
        out["csr_file"] = rel
        request["csr"] = csr_texts[rel]
    out["request"] = request
    out["expect"] = test["expect"]
    if "violations" in test:
        out["violations"] = sorted(test["violations"])
    if "applied_values" in test:
        out["applied_values"] = dict(test["applied_values"])
    line, col = locate(item.document, f"tests[{index}]")
    out["source"] = {"file": item.file, "line": line, "col": col}
    return out


def _policy(item: Declared, config: Config, csr_texts: Mapping[str, str]) -> Resource:
    assert item.name is not None
    doc = item.doc
    rollout = {
        rule["action"]: config.rollout.merged(rule["rollout"])
        for rule in doc.get("rules") or []
        if "rollout" in rule
    }
    meta = {
        "source": _source(item),
        "previous_names": list(doc.get("previous_names") or []),
        "tests": [_test(item, i, t, csr_texts) for i, t in enumerate(doc.get("tests") or [])],
        "rollout": rollout,
    }
    return Resource(POLICY, item.name, policy_spec(doc), MappingProxyType(meta))


def _digest(files: Mapping[str, bytes]) -> str:
    h = hashlib.sha256()
    for rel in sorted(files):
        data = files[rel]
        # Length-prefixed so that no two different trees can hash the same.
        h.update(f"{len(rel)}:{rel}:{len(data)}:".encode())
        h.update(data)
    return f"sha256:{h.hexdigest()}"


def _run(tree: SourceTree, root: Path, display_root: str, git_commit: str | None) -> Declarations:
    with gc_paused():
        return _build(tree, root, display_root, git_commit)


def _build(tree: SourceTree, root: Path, display_root: str, git_commit: str | None) -> Declarations:
    run = _Load(tree, display_root)
    config = run.config()
    files = select(tree.files(), config.include, config.exclude, CONFIG_FILE)
    declared = run.declared_in_parallel(files)
    for item in declared:
        if item.kind == SERVICE_ACCOUNT:
            checks.check_account(run, item, config.secret_stores)
        else:
            checks.check_policy(run, item)
    checks.check_names(run, declared)
    checks.check_secret_names(run, declared, config.secret_stores)
    run.problems.raise_if_any()
    resources = [
        _account(item) if item.kind == SERVICE_ACCOUNT else _policy(item, config, run.csr_texts)
        for item in declared
    ]
    return Declarations(
        root=root,
        config=config,
        state=State.build(resources),
        files=tuple(files),
        digest=_digest(run.read_files),
        git_commit=git_commit,
    )


def load(path: str | Path, *, ref: str | None = None) -> Declarations:
    """Load the repository at `path` (a folder with certgov.yaml), or its tree at git `ref`.

    Raises DeclarationError listing every problem, sorted by position, or UsageError when
    `ref` cannot be resolved.
    """
    root = Path(path)
    display_root = os.fspath(path)
    if ref is not None:
        with open_git_tree(root, ref) as (git_tree, sha):
            return _run(git_tree, root, display_root, sha)
    if not root.is_dir():
        raise UsageError(f"{display_root} is not a folder")
    return _run(DirectoryTree(root), root, display_root, head_commit(root))
