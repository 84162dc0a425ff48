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
import pickle
import posixpath
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from multiprocessing.context import BaseContext
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any

from certgov.background import Background
from certgov.declarations import checks
from certgov.declarations.checks import Declared, locate
from certgov.declarations.config import CONFIG_FILE, Config
from certgov.declarations.durations import parse_duration
from certgov.declarations.environments import (
    MISSING_IN,
    Environment,
    annotate,
    in_rollout_order,
    substitute,
)
from certgov.declarations.schemas import validate
from certgov.declarations.sources import (
    DirectoryTree,
    SourceTree,
    TooLargeError,
    head_commit,
    open_git_tree,
    select,
)
from certgov.declarations.yamlpos import Document, join_key, load_documents
from certgov.errors import (
    DeclarationError,
    EnvironmentRequiredError,
    Position,
    Problem,
    ProblemCollector,
    UnknownEnvironmentError,
    UsageError,
)
from certgov.gcpause import gc_paused
from certgov.rules.catalogue import BY_ACTION
from certgov.state import POLICY, SERVICE_ACCOUNT, Resource, State, policy_spec
from certgov.state import service_account_spec as account_spec

MAX_FILE_BYTES = 5 * 1024 * 1024
_KINDS = ("Config", SERVICE_ACCOUNT, POLICY)
_DECLARED = (SERVICE_ACCOUNT, POLICY)


def unknown_environment(name: str, names: tuple[str, ...] | None) -> str:
    if not names:
        return f"unknown environment '{name}': certgov.yaml declares no environments"
    return f"unknown environment '{name}'; certgov.yaml declares {', '.join(names)}"


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

    @property
    def environment(self) -> str | None:
        """The environment these declarations were loaded for; None without environments."""
        env = self.config.environment
        return env.name if env else None


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

    def __init__(
        self,
        tree: SourceTree,
        display_root: str,
        env: Environment | None = None,
        names: tuple[str, ...] | None = None,
    ) -> None:
        self.tree = tree
        self.display_root = display_root
        self.problems = ProblemCollector()
        self.read_files: dict[str, bytes] = {}
        self.csr_texts: dict[str, str] = {}
        self.env = env
        self.names = names
        """The environments certgov.yaml declares; None when it declares none."""
        self.stores: Mapping[str, Mapping[str, Any]] = {}
        """certgov.yaml's secret stores, which the checks of each account look up."""
        self.bare = False
        """Whether certgov.yaml is missing: then the folder may be anything, and only files
        that say they are certgov declarations are reported on, beside the missing file."""

    def display(self, rel: str) -> str:
        if self.display_root in ("", "."):
            return rel
        return posixpath.normpath(posixpath.join(self.display_root, rel))

    def add(self, rel: str, line: int, col: int, field: str, message: str) -> None:
        self.problems.add(Position(self.display(rel), line, col), field, message)

    # -- files ---------------------------------------------------------------------------------

    def read_text(self, rel: str) -> str | None:
        """The text of a file, or None after reporting why it cannot be used."""
        try:
            data = self.tree.read(rel, MAX_FILE_BYTES)
        except TooLargeError as exc:
            self.add(rel, 0, 0, "", f"the file is {exc.size} bytes; the limit is 5 MiB")
            return None
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
            if not self.selected(rel, document):
                continue
            value, used, unresolved = self.substituted(rel, document)
            doc = _coerce_numbers(value)
            if self.bare and not str(_get(doc, "apiVersion")).startswith("certgov/"):
                continue
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
            # A value whose variable is missing is reported once, not judged as written.
            schema_problems = [sp for sp in validate(doc) if sp.path not in unresolved]
            for sp in schema_problems:
                line, col = locate(document, sp.path, key=sp.key)
                self.add(rel, line, col, sp.path, annotate(sp.message, used, sp.path))
            if isinstance(doc, dict) and doc.get("kind") in _KINDS:
                bad = frozenset(node for sp in schema_problems for node in sp.nodes) | unresolved
                name = doc.get("name") if isinstance(doc.get("name"), str) else None
                out.append(Declared(doc["kind"], name, doc, rel, document, bad, used))
        return out

    # -- environments --------------------------------------------------------------------------

    def selected(self, rel: str, document: Document) -> bool:
        """Whether a declaration exists in this run's environment (`environments: [...]`);
        names certgov.yaml does not declare are reported."""
        doc = document.value
        chosen = doc.get("environments") if isinstance(doc, dict) else None
        if not isinstance(chosen, list) or doc.get("kind") not in _DECLARED:
            return True
        for i, name in enumerate(chosen):
            path = f"environments[{i}]"
            if not isinstance(name, str) or (self.names is not None and name in self.names):
                continue
            line, col = locate(document, path)
            self.add(rel, line, col, path, unknown_environment(name, self.names))
        return self.env is None or self.env.name in chosen

    def substituted(
        self, rel: str, document: Document
    ) -> tuple[Any, Mapping[str, str], frozenset[str]]:
        """A declaration's value with this environment's variables in it, each unresolved
        reference reported; which variables each substituted string used; and the paths of
        the strings left unresolved."""
        doc = document.value
        if self.env is None or not isinstance(doc, dict) or doc.get("kind") not in _DECLARED:
            return doc, {}, frozenset()
        found = substitute(doc, self.env)
        for path, message in found.problems:
            line, col = locate(document, path)
            self.add(rel, line, col, path, message)
        return found.value, found.used, frozenset(path for path, _ in found.problems)

    # -- config --------------------------------------------------------------------------------

    def config(self, environment: str | None = None) -> Config:
        """certgov.yaml, as `environment` sees it (every problem reported); raises
        EnvironmentRequiredError when it declares environments and none is named."""
        if not self.tree.exists(CONFIG_FILE):
            below = [f for f in self.tree.files() if PurePosixPath(f).name == CONFIG_FILE]
            hint = (
                f"; below it, {', '.join(str(PurePosixPath(f).parent) for f in below[:3])}"
                f" {'has' if len(below) == 1 else 'have'} one: pass that folder"
                if below
                else ": pass that folder, or create it there"
            )
            self.add(
                CONFIG_FILE,
                0,
                0,
                "",
                f"missing: no certgov.yaml in {self.display_root or '.'} (certgov does not look"
                " in parent folders); a declarations repository has certgov.yaml at its root"
                f" (apiVersion: certgov/v1, kind: Config){hint}",
            )
            self.bare = True
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
                checks.check_environments(self, item)
                if item.valid:
                    config = self.for_environment(item, environment)
                elif isinstance(item.doc.get("environments"), dict):
                    # Without a valid certgov.yaml, no environment's variables are known: the
                    # declarations would show only the echoes of its problems.
                    self.problems.raise_if_any()
        if config is None and environment is not None:
            self.problems.raise_if_any()  # a missing or broken certgov.yaml says so first
            raise UnknownEnvironmentError(unknown_environment(environment, None))
        return config or Config()

    def for_environment(self, item: Declared, environment: str | None) -> Config:
        """The config of a valid certgov.yaml, with the environment's settings and variables."""
        doc = item.doc
        names = tuple(doc.get("environments") or ())
        if environment is None:
            if names:
                raise EnvironmentRequiredError(names)
            return Config.from_document(doc)
        if environment not in names:
            line, col = locate(item.document, "environments", key=True)
            raise UnknownEnvironmentError(
                unknown_environment(environment, names or None),
                position=Position(self.display(CONFIG_FILE), line, col) if names else None,
            )
        self.names = names
        self.env = Environment.from_document(environment, doc["environments"][environment])
        # Secret stores may use the environment's variables too (a path per environment).
        doc = copy.deepcopy(doc)
        env_path = join_key(join_key("environments", environment), "secret_stores")
        for holder, path in ((doc, "secret_stores"), (doc["environments"][environment], env_path)):
            if "secret_stores" in holder:
                found = substitute(holder["secret_stores"], self.env, path, top=False)
                for where, message in found.problems:
                    line, col = locate(item.document, where)
                    self.add(CONFIG_FILE, line, col, where, message)
                holder["secret_stores"] = found.value
        return Config.from_document(doc, environment)

    # -- declarations --------------------------------------------------------------------------

    def declared(self, files: Iterable[str]) -> list[Declared]:
        """The declarations of `files`, each checked on its own (the checks across files come
        once all are read)."""
        out: list[Declared] = []
        for rel in files:
            for item in self.documents(rel):
                if item.kind == "Config":
                    line, col = locate(item.document, "kind")
                    self.add(
                        rel, line, col, "kind", "kind Config belongs in certgov.yaml at the root"
                    )
                    continue
                if item.kind == SERVICE_ACCOUNT:
                    checks.check_account(self, item, self.stores)
                else:
                    checks.check_policy(self, item)
                out.append(item)
        return out

    def declared_in_parallel(
        self, files: list[str], alongside: Callable[[], None] | None = None
    ) -> list[Declared]:
        """`declared`, a large folder's files shared with a forked process.

        Reading, YAML, the schemas and the checks of each declaration are pure CPU: on a second
        core they take about half the time. Both processes take the next chunk of files until
        none is left, so that the one with more else to do (this one reads the live tenant
        meanwhile) reads fewer. The result is the same, in the same order; where forking is
        unsafe or not worth it (a git tree, few files, one CPU, other threads running),
        everything is read here. `alongside` is called once the fork is done (or known not to
        happen), before the files are read: work it starts on threads runs while they are.
        """
        context = _fork_context() if len(files) >= PARALLEL_FILES else None
        if context is None or not isinstance(self.tree, DirectoryTree):
            if alongside is not None:
                alongside()
            return self.declared(files)
        chunks = [files[i : i + _CHUNK] for i in range(0, len(files), _CHUNK)]
        elsewhere = _Load(self.tree, self.display_root, self.env, self.names)
        elsewhere.bare, elsewhere.stores = self.bare, self.stores
        taken = context.Value("i", 0)
        # The forked child inherits these (initargs are not pickled under fork).
        with ProcessPoolExecutor(
            1, mp_context=context, initializer=_inherit, initargs=(elsewhere, chunks, taken)
        ) as pool:
            future = pool.submit(_declared_elsewhere)
            if alongside is not None:
                alongside()
            done = {i: self.declared(chunks[i]) for i in _next_chunks(taken, len(chunks))}
            try:
                problems, read_files, csr_texts, pickled = future.result()
                # Bytes this process's own forked child pickled.
                there = {i: pickle.loads(data) for i, data in pickled.items()}  # noqa: S301
            except BrokenProcessPool:
                problems, read_files, csr_texts = [], {}, {}
                there = {i: self.declared(c) for i, c in enumerate(chunks) if i not in done}
        self.problems.problems.extend(problems)
        self.read_files.update(read_files)
        self.csr_texts.update(csr_texts)
        done.update(there)
        return [item for i in range(len(chunks)) for item in done[i]]


# From this many declaration files on, a forked process reads some of them (see
# _Load.declared_in_parallel); below it, forking costs more than it saves. The two processes
# take _CHUNK files at a time.
PARALLEL_FILES = 1000
_CHUNK = 50


def _fork_context() -> BaseContext | None:
    """Fork where it is safe and useful: on Linux, with two CPUs or more, and with no other
    thread in this process (a fork copies the locks other threads may be holding)."""
    if sys.platform != "linux" or (os.cpu_count() or 1) < 2 or threading.active_count() > 1:
        return None
    return multiprocessing.get_context("fork")


def _next_chunks(taken: Any, count: int) -> Iterator[int]:
    """The indexes of the chunks this process takes, one at a time, until none is left."""
    while True:
        with taken.get_lock():
            index: int = taken.value
            taken.value = index + 1
        if index >= count:
            return
        yield index


_inherited: tuple[_Load, list[list[str]], Any] | None = None


def _inherit(run: _Load, chunks: list[list[str]], taken: Any) -> None:
    global _inherited
    _inherited = run, chunks, taken


def _declared_elsewhere() -> tuple[
    list[Problem], dict[str, bytes], dict[str, str], dict[int, bytes]
]:
    """The child's work: each chunk it takes, read and pickled at once (pickled only at the end,
    the declarations would keep this process busy, and the other waiting, after the last)."""
    assert _inherited is not None
    run, chunks, taken = _inherited
    done = {
        i: pickle.dumps(run.declared(chunks[i]), protocol=pickle.HIGHEST_PROTOCOL)
        for i in _next_chunks(taken, len(chunks))
    }
    return run.problems.problems, run.read_files, run.csr_texts, done


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


def _run(
    tree: SourceTree,
    root: Path,
    display_root: str,
    git_commit: Callable[[], str | None],
    env: str | None,
    alongside: Callable[[], None] | None,
) -> Declarations:
    with gc_paused():
        return _build(_Load(tree, display_root), root, git_commit, env, alongside)


def _build(
    run: _Load,
    root: Path,
    git_commit: Callable[[], str | None],
    env: str | None,
    alongside: Callable[[], None] | None,
) -> Declarations:
    tree = run.tree
    config = run.config(env)
    files = select(tree.files(), config.include, config.exclude, CONFIG_FILE)
    run.stores = config.secret_stores
    declared = run.declared_in_parallel(files, alongside)
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
        git_commit=git_commit(),
    )


def load(
    path: str | Path,
    *,
    ref: str | None = None,
    environment: str | None = None,
    alongside: Callable[[], None] | None = None,
) -> Declarations:
    """Load the repository at `path` (a folder with certgov.yaml), or its tree at git `ref`,
    for `environment` when certgov.yaml declares environments.

    `alongside`, when given, is called once certgov.yaml is read and before the declaration
    files are: what it starts on a thread (reading the live tenant) runs while they load.

    Raises DeclarationError listing every problem, sorted by position; UsageError when `ref`
    cannot be resolved, EnvironmentRequiredError or UnknownEnvironmentError when `environment`
    is missing or not declared.
    """
    root = Path(path)
    display_root = os.fspath(path)
    if ref is not None:
        with open_git_tree(root, ref) as (git_tree, sha):
            return _run(git_tree, root, display_root, lambda: sha, environment, alongside)
    if not root.is_dir():
        raise UsageError(f"{display_root} is not a folder")
    # Whether the folder is a clean git work tree (`git status` over every file) is asked on a
    # thread while the files load.
    with Background(lambda: head_commit(root), "certgov-git") as commit:

        def beside() -> None:
            commit.start()
            if alongside is not None:
                alongside()

        return _run(DirectoryTree(root), root, display_root, commit.result, environment, beside)


def load_config(path: str | Path, environment: str | None = None) -> Config:
    """certgov.yaml of the repository at `path` alone, as `environment` sees it."""
    run = _Load(DirectoryTree(Path(path)), os.fspath(path))
    config = run.config(environment)
    run.problems.raise_if_any()
    return config


def load_environments(path: str | Path) -> tuple[Environment, ...]:
    """The environments certgov.yaml declares (none: empty), each after the one its rollouts
    wait for; certgov.yaml alone is read, and its problems reported."""
    try:
        load_config(path)
        return ()
    except EnvironmentRequiredError as exc:
        return in_rollout_order(load_config(path, exc.names[0]).environments)


def load_each(path: str | Path, *, ref: str | None = None) -> list[Declarations]:
    """The repository as each environment sees it (once, without environments); the problems
    of every environment at once, each variable's problem naming its environment."""
    try:
        return [load(path, ref=ref)]
    except EnvironmentRequiredError as exc:
        names = exc.names
    loaded: list[Declarations] = []
    problems: dict[Problem, list[str]] = {}
    for name in names:
        try:
            loaded.append(load(path, ref=ref, environment=name))
        except DeclarationError as exc:
            for problem in exc.problems:
                # One line for a variable missing in several environments, naming them all.
                common, _, env = problem.message.rpartition(MISSING_IN)
                key = replace(problem, message=common) if env == name else problem
                problems.setdefault(key, []).extend([env] if env == name else [])
    if problems:
        raise DeclarationError(_missing_in(p, envs) for p, envs in problems.items())
    return loaded


def _missing_in(problem: Problem, envs: list[str]) -> Problem:
    if not envs:
        return problem
    where = MISSING_IN.replace("environment", "environments") if len(envs) > 1 else MISSING_IN
    return replace(problem, message=f"{problem.message}{where}{', '.join(envs)}")


def _get(doc: Any, key: str) -> Any:
    return doc.get(key) if isinstance(doc, dict) else None
