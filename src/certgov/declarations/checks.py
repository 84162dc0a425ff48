"""What the JSON Schemas cannot say: checks over values, across documents and across files.

Each check reports through a `Reporter` and never stops at the first problem. Checks that need
the rule catalogue or the domain rules call `certgov.rules`, the same code the server runs.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from certgov.apiurl import canonical_api_root
from certgov.declarations.durations import length_problem
from certgov.declarations.environments import annotate
from certgov.declarations.sources import SourceTree
from certgov.declarations.yamlpos import Document, join_key
from certgov.errors import Position, SecretStoreError
from certgov.rules.accounts import check_ip_entry
from certgov.rules.catalogue import BY_ACTION
from certgov.rules.domains import name_problems, pattern_problems
from certgov.rules.names import name_character_problem, name_key
from certgov.secretpath import missing_extra, secret_name
from certgov.state import POLICY, SERVICE_ACCOUNT, normalise_timestamp

CSR_MARKERS = ("-----BEGIN CERTIFICATE REQUEST-----", "-----BEGIN NEW CERTIFICATE REQUEST-----")


class Reporter(Protocol):
    """Where checks report problems and read the repository's other files."""

    tree: SourceTree
    read_files: dict[str, bytes]
    csr_texts: dict[str, str]

    def add(self, rel: str, line: int, col: int, field: str, message: str) -> None: ...

    def display(self, rel: str) -> str: ...


def _ancestors(path: str) -> list[str]:
    """`path` and every path above it, up to the document root ``""``."""
    out = [path]
    while path:
        cut = max(path.rfind("."), path.rfind("["))
        path = path[: max(cut, 0)]
        out.append(path)
    return out


@dataclass
class Declared:
    """One document with a known kind, with where it came from and the paths found wrong.

    `bad` holds the paths that failed the schema; `name` is None when the name is unusable.
    """

    kind: str
    name: str | None
    doc: dict[str, Any]
    file: str
    document: Document
    bad: frozenset[str] = frozenset()
    variables: Mapping[str, str] = field(default_factory=dict)
    """For each string that used a variable, which environment and variables (for messages)."""

    @property
    def valid(self) -> bool:
        return not self.bad

    def ok(self, path: str) -> bool:
        """Whether the node at `path` and everything above it passed the schema."""
        return not self.bad or not any(p in self.bad for p in _ancestors(path))

    def clean(self, path: str) -> bool:
        """Whether the node at `path`, everything above it and everything below it passed."""
        below = (path + ".", path + "[")
        return self.ok(path) and not any(b.startswith(below) for b in self.bad)

    def items(self, path: str, value: Any) -> list[tuple[int, Any]]:
        """The (index, item) pairs of `value`, the list at `path`, that passed the schema."""
        if not self.ok(path) or not isinstance(value, list):
            return []
        if not self.bad:
            return list(enumerate(value))
        return [(i, v) for i, v in enumerate(value) if self.ok(f"{path}[{i}]")]


def locate(document: Document, path: str, *, key: bool = False) -> tuple[int, int]:
    """The position of `path`, or of its nearest ancestor when the node itself is missing."""
    for candidate in _ancestors(path):
        if key and candidate in document.key_positions:
            return document.key_positions[candidate]
        if candidate in document.positions:
            return document.positions[candidate]
    return document.line, document.col


def _report(out: Reporter, item: Declared, path: str, message: str) -> None:
    line, col = locate(item.document, path)
    out.add(item.file, line, col, path, annotate(message, item.variables, path))


def _check_duration(out: Reporter, item: Declared, path: str, value: Any) -> None:
    if value is not None and item.ok(path):
        problem = length_problem(value)
        if problem is not None:
            _report(out, item, path, problem)


def _where(out: Reporter, item: Declared, path: str) -> str:
    line, col = locate(item.document, path)
    return str(Position(out.display(item.file), line, col))


def _check_name_characters(out: Reporter, item: Declared) -> None:
    """The object's name and previous names hold no control or bidirectional character."""
    doc = item.doc
    named = [("name", doc.get("name"))] if item.ok("name") else []
    named += [
        (f"previous_names[{i}]", old)
        for i, old in item.items("previous_names", doc.get("previous_names"))
    ]
    for path, name in named:
        problem = name_character_problem(name) if isinstance(name, str) else None
        if problem is not None:
            _report(out, item, path, problem)


# -- the config --------------------------------------------------------------------------------


def check_config(out: Reporter, item: Declared) -> None:
    rollout = item.doc.get("rollout")
    if isinstance(rollout, dict):
        _check_duration(out, item, "rollout.promote_after", rollout.get("promote_after"))
    manage = item.doc.get("manage")
    for kind, settings in manage.items() if isinstance(manage, dict) else ():
        if isinstance(settings, dict):
            path = f"manage.{kind}.delete_after"
            _check_duration(out, item, path, settings.get("delete_after"))
    stores = item.doc.get("secret_stores")
    for name, store in stores.items() if isinstance(stores, dict) else ():
        path = f"secret_stores.{name}.type"
        if item.ok(path) and isinstance(store, dict) and isinstance(store.get("type"), str):
            missing = missing_extra(store["type"])
            if missing is not None:
                _report(out, item, path, missing)


def _after_chain(envs: Mapping[str, Any], start: str) -> list[str]:
    """`start`, the environment it waits for, the one that waits for, … until one repeats."""
    chain = [start]
    while True:
        after = ((envs.get(chain[-1]) or {}).get("rollout") or {}).get("after")
        if not isinstance(after, str) or after not in envs:
            return chain
        chain.append(after)
        if chain.count(after) > 1:
            return chain


def check_environments(out: Reporter, item: Declared) -> None:
    """Each environment on its own tenant; `rollout.after` names another one, without a cycle."""
    envs = item.doc.get("environments")
    if not isinstance(envs, dict) or not item.ok("environments"):
        return
    names = list(envs)
    servers: dict[str, str] = {}
    for name, env in envs.items():
        at = join_key("environments", name)
        if not item.ok(at) or not isinstance(env, dict):
            continue
        server = join_key(at, "server")
        if item.ok(server) and isinstance(env.get("server"), str):
            root = canonical_api_root(env["server"])
            if root in servers:
                first = servers[root]
                _report(
                    out,
                    item,
                    server,
                    f"environment {name} has the server of environment {first} ({root}, at"
                    f" {_where(out, item, join_key(join_key('environments', first), 'server'))}):"
                    " two environments on one tenant would undo each other's changes",
                )
            else:
                servers[root] = name
        after = (env.get("rollout") or {}).get("after")
        path = join_key(join_key(at, "rollout"), "after")
        if not isinstance(after, str) or not item.ok(path):
            continue
        if after not in envs:
            _report(
                out,
                item,
                path,
                f"unknown environment '{after}'; certgov.yaml declares {', '.join(names)}",
            )
            continue
        chain = _after_chain(envs, name)
        if chain[-1] == name and len(chain) > 1:
            cycle = [n for n in names if n in chain]
            if cycle[0] == name:  # one report per cycle, at its first environment
                _report(
                    out,
                    item,
                    path,
                    f"rollout.after makes a cycle ({' → '.join(chain)}): promotions would wait"
                    " for each other forever",
                )


# -- one account -------------------------------------------------------------------------------


def check_account(out: Reporter, item: Declared, stores: Mapping[str, Mapping[str, Any]]) -> None:
    doc = item.doc
    _check_name_characters(out, item)
    for i, entry in item.items("ip_allowlist", doc.get("ip_allowlist")):
        try:
            check_ip_entry(entry)
        except ValueError as exc:
            _report(out, item, f"ip_allowlist[{i}]", str(exc))
    if doc.get("expires_at") is not None and item.ok("expires_at"):
        try:
            normalise_timestamp(doc["expires_at"])
        except ValueError as exc:
            _report(out, item, "expires_at", f"not a valid date or time: {exc}")
    secret = doc.get("secret")
    if isinstance(secret, dict):
        _check_duration(out, item, "secret.rotate_after", secret.get("rotate_after"))
        if item.ok("secret.path"):
            # The stores' own rules, so that validate refuses exactly what plan and apply would.
            store = stores.get(secret["store"], {}) if item.ok("secret.store") else {}
            try:
                secret_name(store.get("type", ""), secret["path"])
            except SecretStoreError as exc:
                _report(out, item, "secret.path", exc.message)
    known = sorted(stores)
    if secret and item.ok("secret.store") and secret["store"] not in known:
        declared = (
            f"certgov.yaml declares {', '.join(known)}"
            if known
            else "certgov.yaml declares no secret_stores"
        )
        _report(out, item, "secret.store", f"unknown secret store '{secret['store']}'; {declared}")


def check_secret_names(
    out: Reporter, items: list[Declared], stores: Mapping[str, Mapping[str, Any]]
) -> None:
    """No two accounts whose different secret paths a store keeps under one name."""
    first: dict[tuple[str, str], tuple[Declared, str]] = {}
    accounts = sorted(
        (
            i
            for i in items
            if i.kind == SERVICE_ACCOUNT and i.ok("secret.store") and i.ok("secret.path")
        ),
        key=lambda i: (i.file, i.document.line, i.document.col),
    )
    for item in accounts:
        secret: Any = item.doc.get("secret")
        if not isinstance(secret, dict) or secret["store"] not in stores:
            continue
        store, path = secret["store"], secret["path"]
        try:
            name = secret_name(stores[store].get("type", ""), path)
        except SecretStoreError:
            continue  # reported by check_account
        seen, seen_path = first.setdefault((store, name), (item, path))
        if seen_path != path:
            _report(
                out,
                item,
                "secret.path",
                f"'{path}' and '{seen_path}' (at {_where(out, seen, 'secret.path')}) are both"
                f" the secret '{name}' in store '{store}'; give each account a path of its own",
            )


# -- one policy --------------------------------------------------------------------------------


def csr_path(declaration_file: str, csr_file: str) -> str | None:
    """The repository-relative path of a test's CSR file, or None when it leaves the repository."""
    if csr_file.startswith("/"):
        return None
    rel = posixpath.normpath(posixpath.join(posixpath.dirname(declaration_file), csr_file))
    if rel == ".." or rel.startswith("../"):
        return None
    return rel


def _check_csr(out: Reporter, item: Declared, path: str, csr_file: str) -> None:
    rel = csr_path(item.file, csr_file)
    if rel is None:
        _report(out, item, path, "must be a path inside the repository, relative to this file")
        return
    if not out.tree.exists(rel):
        _report(out, item, path, f"no such file: {out.display(rel)}")
        return
    data = out.tree.read(rel)
    out.read_files[rel] = data
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        text = ""
    if not any(marker in text for marker in CSR_MARKERS):
        _report(out, item, path, f"{out.display(rel)} is not a PEM certificate request")
        return
    out.csr_texts[rel] = text


def _check_rules(out: Reporter, item: Declared) -> set[str]:
    seen: dict[str, int] = {}
    for i, rule in item.items("rules", item.doc.get("rules")):
        rollout = rule.get("rollout") if isinstance(rule, dict) else None
        if isinstance(rollout, dict):
            path = f"rules[{i}].rollout.promote_after"
            _check_duration(out, item, path, rollout.get("promote_after"))
        if not item.ok(f"rules[{i}].action"):
            continue
        action = rule["action"]
        if action in seen:
            _report(
                out,
                item,
                f"rules[{i}].action",
                f"{action} is already rules[{seen[action]}]; a policy has one rule per action",
            )
        else:
            seen[action] = i
        values = rule.get("values") or {}
        for spec in BY_ACTION[action].values:
            path = f"rules[{i}].values.{spec.key}"
            if spec.type == "domain" and spec.key in values and item.ok(path):
                for message in name_problems(str(values[spec.key])):
                    _report(out, item, path, message)
    return set(seen)


def check_policy(out: Reporter, item: Declared) -> None:
    _check_name_characters(out, item)
    criteria = item.doc.get("matching_criteria")
    domains = criteria.get("domains") if isinstance(criteria, dict) else None
    for i, pattern in item.items("matching_criteria.domains", domains):
        for message in pattern_problems(pattern):
            _report(out, item, f"matching_criteria.domains[{i}]", message)
    actions = _check_rules(out, item)
    names: dict[str, int] = {}
    for i, test in item.items("tests", item.doc.get("tests")):
        name = test.get("name") if item.ok(f"tests[{i}].name") else None
        if name in names:
            _report(
                out,
                item,
                f"tests[{i}].name",
                f"'{name}' is already the name of tests[{names[name]}]",
            )
        elif name is not None:
            names[name] = i
        for j, rule in item.items(f"tests[{i}].violations", test.get("violations")):
            if item.clean("rules") and rule not in actions:
                _report(
                    out,
                    item,
                    f"tests[{i}].violations[{j}]",
                    f"{rule} is not a rule of this policy",
                )
        if "csr_file" in test and item.ok(f"tests[{i}].csr_file"):
            _check_csr(out, item, f"tests[{i}].csr_file", test["csr_file"])


# -- across files ------------------------------------------------------------------------------


def check_names(out: Reporter, items: list[Declared]) -> None:
    """Names unique within a kind; previous names that are nobody's current name, claimed once."""
    for kind in (SERVICE_ACCOUNT, POLICY):
        of_kind = sorted(
            (i for i in items if i.kind == kind and i.name is not None),
            key=lambda i: (i.file, i.document.line, i.document.col),
        )
        current: dict[str, Declared] = {}
        by_key: dict[str, Declared] = {}
        for item in of_kind:
            assert item.name is not None
            first = by_key.get(name_key(item.name))
            if first is None:
                current[item.name] = by_key[name_key(item.name)] = item
            elif first.name == item.name:
                where = _where(out, first, "name")
                _report(out, item, "name", f"{kind} '{item.name}' is already declared at {where}")
            else:
                _report(
                    out,
                    item,
                    "name",
                    f"{kind} '{item.name}' is the same name as '{first.name}', declared at"
                    f" {_where(out, first, 'name')}: the server compares names with case and"
                    " Unicode compatibility forms folded, and refuses the second",
                )
        claimed: dict[str, tuple[Declared, str]] = {}
        for item in of_kind:
            for j, old in item.items("previous_names", item.doc.get("previous_names")):
                path = f"previous_names[{j}]"
                other = current.get(old)
                if old == item.name:
                    _report(out, item, path, f"'{old}' is this {kind}'s own name")
                elif other is not None:
                    _report(
                        out,
                        item,
                        path,
                        f"'{old}' is the name of another {kind}, declared at"
                        f" {_where(out, other, 'name')}",
                    )
                elif old in claimed:
                    first, first_path = claimed[old]
                    _report(
                        out,
                        item,
                        path,
                        f"'{old}' is already a previous name of {kind} '{first.name}' at"
                        f" {_where(out, first, first_path)}",
                    )
                else:
                    claimed[old] = (item, path)
