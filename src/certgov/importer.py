"""`certgov import`: the live tenant as declaration files, so that an existing tenant can be
adopted without retyping it.

    render_files(live, *, server, kinds, split) -> dict[str, str]    pure: relative path -> text
    write_files(out, files, *, force) -> WriteResult                 never overwrites unless force

Every account is written without `secret:`. The live secret cannot be read back, and a
placeholder store would make plan see a missing store record and regenerate every secret on the
first apply; so the block is written as a clearly marked comment to fill in, which keeps the
imported repository valid and its plan at zero changes (lint CG006 lists what is left to fill).
The JSON Schemas are copied to `schemas/` beside the files, so that the `$schema` line of each
file works in an editor wherever the repository is cloned.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from certgov.declarations.config import CONFIG_FILE, Config
from certgov.declarations.environments import Environment, substitute
from certgov.declarations.schemas import SCHEMA_FILES
from certgov.declarations.sources import DirectoryTree, select
from certgov.declarations.yamlpos import load_documents
from certgov.errors import UsageError
from certgov.resources import data_dir
from certgov.rules.catalogue import BY_ACTION
from certgov.state import KINDS, POLICY, SERVICE_ACCOUNT, Resource, State, policy_spec
from certgov.state import service_account_spec as account_spec

Split = Literal["per-object", "per-kind"]
SCHEMA_FOLDER = "schemas"
MAX_STEM = 80
_FOLDERS = {SERVICE_ACCOUNT: "service-accounts", POLICY: "policies"}
_SCHEMAS = {SERVICE_ACCOUNT: "service-account.json", POLICY: "policy.json"}
# Names Windows refuses as file names whatever the extension.
_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{i}" for i in range(1, 10)}
    | {f"lpt{i}" for i in range(1, 10)}
)
_UNSAFE = re.compile(r"[^a-z0-9]+")


def safe_stem(name: str) -> str:
    """A file name stem for an object name: lower-case ASCII letters, digits and hyphens."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    stem = _UNSAFE.sub("-", ascii_name.lower()).strip("-")[:MAX_STEM].strip("-")
    if not stem:
        stem = "unnamed"
    if stem in _RESERVED:
        stem += "-object"
    return stem


def unique_stems(names: Iterable[str]) -> dict[str, str]:
    """A distinct stem per name (`-2`, `-3` … on collisions), in the order the names come."""
    used: set[str] = set()
    out: dict[str, str] = {}
    for name in names:
        stem = safe_stem(name)
        candidate, n = stem, 1
        while candidate in used:
            n += 1
            candidate = f"{stem}-{n}"
        used.add(candidate)
        out[name] = candidate
    return out


def _dump(document: Mapping[str, Any]) -> str:
    return yaml.safe_dump(
        dict(document), sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
    )


def _values(rule: Mapping[str, Any]) -> dict[str, Any]:
    """Rule values as a person writes them: numbers as numbers."""
    spec = BY_ACTION[rule["action"]]
    types = {v.key: v.type for v in spec.values}
    return {
        key: int(value) if types.get(key) == "int" else value
        for key, value in (rule.get("values") or {}).items()
    }


def account_document(resource: Resource) -> dict[str, Any]:
    spec = resource.spec
    doc: dict[str, Any] = {
        "apiVersion": "certgov/v1",
        "kind": SERVICE_ACCOUNT,
        "name": spec["name"],
    }
    if spec["description"]:
        doc["description"] = spec["description"]
    doc["scopes"] = list(spec["scopes"])
    doc["ip_allowlist"] = list(spec["ip_allowlist"])
    if spec["expires_at"] is not None:
        doc["expires_at"] = spec["expires_at"]
    doc["enabled"] = spec["enabled"]
    return doc


def policy_document(resource: Resource) -> dict[str, Any]:
    spec = resource.spec
    doc: dict[str, Any] = {"apiVersion": "certgov/v1", "kind": POLICY, "name": spec["name"]}
    if spec["description"]:
        doc["description"] = spec["description"]
    doc["enabled"] = spec["enabled"]
    doc["matching_criteria"] = {
        "action": spec["matching_criteria"]["action"],
        "domains": list(spec["matching_criteria"]["domains"]),
    }
    rules = []
    for rule in spec["rules"]:
        out: dict[str, Any] = {"action": rule["action"], "fail": rule["fail"]}
        if rule.get("values"):
            out["values"] = _values(rule)
        rules.append(out)
    doc["rules"] = rules
    return doc


def _secret_placeholder(name: str) -> str:
    path = json.dumps(f"clm/{name}", ensure_ascii=False)  # a JSON string is a YAML scalar
    address = shlex.quote(f"ServiceAccount/{name}")
    return (
        "# FILL IN before this account's next secret rotation: the live secret cannot be read\n"
        "# back, so certgov import leaves it where it is. Name a store from secret_stores in\n"
        "# certgov.yaml and uncomment (certgov lint CG006 lists the accounts still without one),\n"
        "# then hand certgov the secret in use, so that plan does not rotate it:\n"
        f"#   certgov secret adopt {address} --from-env SECRET   (or the secret on stdin)\n"
        "# secret:\n"
        "#   store: FILL-IN\n"
        f"#   path: {path}\n"
        "#   rotate_after: 90d\n"
    )


def declaration_text(resource: Resource) -> str:
    """One object's YAML document (no schema line), with the secret block marked to fill in."""
    if resource.kind == SERVICE_ACCOUNT:
        return _dump(account_document(resource)) + _secret_placeholder(resource.name)
    return _dump(policy_document(resource))


def _schema_line(file_rel: str, schema: str) -> str:
    depth = file_rel.count("/")
    return f"# yaml-language-server: $schema={'../' * depth}{SCHEMA_FOLDER}/{schema}\n"


def config_text(server: str) -> str:
    return (
        _schema_line(CONFIG_FILE, "config.json")
        + _dump({"apiVersion": "certgov/v1", "kind": "Config", "server": server})
        + "# FILL IN: where new and rotated client secrets go, for example\n"
        "# secret_stores:\n"
        "#   vault-prod: {type: vault, url: https://vault.example.com}\n"
    )


def render_files(
    live: State, *, server: str, kinds: Iterable[str] = KINDS, split: Split = "per-object"
) -> dict[str, str]:
    """Every declaration file for the objects of `kinds`, by path relative to the output folder.

    certgov.yaml is among them; `write_files` writes it only when it is absent.
    """
    files: dict[str, str] = {CONFIG_FILE: config_text(server)}
    for kind in KINDS:
        if kind not in kinds:
            continue
        resources = live.of_kind(kind)
        if not resources:
            continue
        folder, schema = _FOLDERS[kind], _SCHEMAS[kind]
        if split == "per-kind":
            rel = f"{folder}.yaml"
            body = "---\n".join(declaration_text(r) for r in resources)
            files[rel] = _schema_line(rel, schema) + body
            continue
        stems = unique_stems(r.name for r in resources)
        for resource in resources:
            rel = f"{folder}/{stems[resource.name]}.yaml"
            files[rel] = _schema_line(rel, schema) + declaration_text(resource)
    return {**files, **schema_files()}


def schema_files(out: Path | None = None) -> dict[str, str]:
    """The JSON Schemas to copy beside the declarations (those missing under `out`, if given)."""
    return {
        f"{SCHEMA_FOLDER}/{name}": (data_dir("schemas") / name).read_text(encoding="utf-8")
        for name in SCHEMA_FILES
        if out is None or not (out / SCHEMA_FOLDER / name).exists()
    }


@dataclass(frozen=True)
class WriteResult:
    """What `write_files` did, by relative path."""

    written: tuple[str, ...]
    unchanged: tuple[str, ...]
    kept: tuple[str, ...]


def write_files(out: Path, files: Mapping[str, str], *, force: bool = False) -> WriteResult:
    """Write `files` below `out`. Nothing is written when any existing file would change and
    `force` is not set; an existing certgov.yaml is always kept."""
    written: list[str] = []
    unchanged: list[str] = []
    kept: list[str] = []
    conflicts: list[str] = []
    for rel, text in sorted(files.items()):
        path = out / rel
        if not path.exists():
            written.append(rel)
        elif rel == CONFIG_FILE:
            kept.append(rel)
        elif path.is_file() and path.read_text(encoding="utf-8", errors="replace") == text:
            unchanged.append(rel)
        else:
            conflicts.append(rel)
    if conflicts and not force:
        shown = ", ".join(conflicts[:5]) + (
            f" and {len(conflicts) - 5} more" if len(conflicts) > 5 else ""
        )
        raise UsageError(
            f"{out}: {len(conflicts)} file{'s' if len(conflicts) != 1 else ''} would be"
            f" overwritten ({shown}); pass --force to overwrite"
        )
    written.extend(conflicts)
    for rel in written:
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[rel], encoding="utf-8")
    return WriteResult(tuple(sorted(written)), tuple(unchanged), tuple(kept))


# -- importing one environment into a repository with environments -----------------------------
#
# `certgov import --env NAME` merges the environment's live objects into the declarations that
# are already there: an object that is the same (once each environment's variables are in) is
# declared once for both; a value that differs only by a variable's value is written with
# `${var.NAME}`; anything else is declared again, selected for this environment alone.

IMPORTED = {
    SERVICE_ACCOUNT: ("description", "scopes", "ip_allowlist", "expires_at", "enabled"),
    POLICY: ("description", "enabled", "matching_criteria", "rules"),
}
_SPECS = {SERVICE_ACCOUNT: account_spec, POLICY: policy_spec}


@dataclass
class Placed:
    """One declaration document and the file it is in."""

    file: str
    doc: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.doc.get("kind"))

    @property
    def name(self) -> str:
        return str(self.doc.get("name"))


def read_placed(out: Path, config: Config) -> list[Placed]:
    """The ServiceAccount and Policy documents already declared under `out`, in file order."""
    tree = DirectoryTree(out)
    found = []
    for rel in select(tree.files(), config.include, config.exclude, CONFIG_FILE):
        documents, problems = load_documents(tree.read(rel).decode("utf-8"))
        if problems:
            raise UsageError(f"{out / rel}: not valid YAML; run certgov validate first")
        found += [
            Placed(rel, d.value)
            for d in documents
            if isinstance(d.value, dict) and d.value.get("kind") in KINDS
        ]
    return found


def _render(value: Any, env: Environment) -> Any:
    found = substitute(value, env)
    return None if found.problems else found.value


def _spec(doc: Mapping[str, Any], env: Environment) -> dict[str, Any] | None:
    """The normalised spec of a declaration in `env` (None when it does not resolve there)."""
    rendered = _render(doc, env)
    try:
        return None if rendered is None else _SPECS[doc["kind"]](rendered)
    except (KeyError, TypeError, ValueError):
        return None


def templated(value: str, env: Environment) -> str:
    """`value` with each of `env`'s variable values in it written as `${var.NAME}`."""
    names = {v: k for k, v in sorted(env.variables.items(), reverse=True) if v}
    if not names:
        return value
    pattern = re.compile("|".join(re.escape(v) for v in sorted(names, key=len, reverse=True)))
    return pattern.sub(lambda m: f"${{var.{names[m.group()]}}}", value)


class _Differs(Exception):
    """The two declarations cannot be written as one."""


def _merged(old: Any, new: Any, env: Environment, others: list[Environment]) -> Any:
    """`old` (declared for `others`) and `new` (`env`'s value) as one value, or _Differs."""
    if isinstance(old, dict) and isinstance(new, dict):
        if set(new) - set(old) or any(k not in new and k not in ("rollout",) for k in old):
            raise _Differs
        return {k: _merged(v, new[k], env, others) if k in new else v for k, v in old.items()}
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        if old and all(isinstance(r, dict) and "action" in r for r in (*old, *new)):
            by_action = {r["action"]: r for r in new}  # rules pair up by action, not position
            if set(by_action) != {r["action"] for r in old}:
                raise _Differs
            return [_merged(r, by_action[r["action"]], env, others) for r in old]
        return [_merged(o, n, env, others) for o, n in zip(old, new, strict=True)]
    if isinstance(old, str) and isinstance(new, str):
        if _render(old, env) == new:
            return old
        candidate = templated(new, env)
        if all(_render(candidate, o) == _render(old, o) for o in others):
            return candidate
        raise _Differs
    if old == new or str(old) == str(new):  # 2048 and "2048" alike; the specs are compared after
        return old
    raise _Differs


def _selection(doc: Mapping[str, Any], names: Sequence[str]) -> list[str]:
    chosen = doc.get("environments")
    return [n for n in names if n in chosen] if isinstance(chosen, list) else list(names)


def _select(doc: dict[str, Any], chosen: Sequence[str], names: Sequence[str]) -> dict[str, Any]:
    """`doc` limited to `chosen` (no `environments:` when that is every environment)."""
    out = {k: v for k, v in doc.items() if k != "environments"}
    if list(chosen) == list(names):
        return out
    keys = list(out)
    at = keys.index("name") + 1 if "name" in keys else len(keys)
    items = list(out.items())
    return dict([*items[:at], ("environments", list(chosen)), *items[at:]])


def _merge_into(
    placed: Placed, new: Mapping[str, Any], env: Environment, envs: Mapping[str, Environment]
) -> bool:
    """Declare `env`'s object `new` in `placed` too (one declaration whose other environments
    see it unchanged); False when the two cannot be one."""
    names = list(envs)
    kept = [n for n in _selection(placed.doc, names) if n != env.name]
    others = [envs[n] for n in kept]
    doc = dict(placed.doc)
    try:
        for key in IMPORTED[placed.kind]:
            if key not in new:
                if doc.get(key) not in (None, ""):  # else the default, in both
                    raise _Differs
            elif key not in doc:
                doc[key] = new[key]  # a default made explicit; checked below
            else:
                doc[key] = _merged(doc[key], new[key], env, others)
    except _Differs:
        return False
    if _spec(doc, env) != _spec(new, env) or any(
        _spec(doc, o) != _spec(placed.doc, o) for o in others
    ):
        return False
    placed.doc = _select(doc, [n for n in names if n in kept or n == env.name], names)
    return True


def _leave(placed: Placed, environment: str, names: Sequence[str]) -> None:
    """`placed` no longer declared in `environment` (no environment at all: it is dropped)."""
    chosen = [n for n in _selection(placed.doc, names) if n != environment]
    placed.doc = _select(placed.doc, chosen, names)


@dataclass(frozen=True)
class MergeResult:
    """The files to write (whole, by path), and what the import did, for its summary."""

    files: dict[str, str]
    shared: int
    only_here: int


def merge_environment(
    placed: list[Placed],
    live: State,
    environment: str,
    environments: Sequence[Environment],
    kinds: Iterable[str] = KINDS,
    ignore: Mapping[str, Sequence[str]] | None = None,
) -> MergeResult:
    """Merge `environment`'s live objects (of `kinds`) into the declarations `placed`; objects
    whose name an `ignore` glob of their kind matches are left alone, live and declared."""
    envs = {e.name: e for e in environments}
    env, names = envs[environment], list(envs)
    touched: set[str] = set()
    for kind in kinds:
        globs = (ignore or {}).get(kind) or ()
        for resource in live.of_kind(kind):
            if _ignored(resource.name, globs):
                continue
            new = (
                account_document(resource) if kind == SERVICE_ACCOUNT else policy_document(resource)
            )
            same = [p for p in placed if p.kind == kind and p.name == resource.name]
            # The declaration this environment has now, if any, is tried first.
            same.sort(key=lambda p: environment not in _selection(p.doc, names))
            if same and environment in _selection(same[0].doc, names):
                if _spec(same[0].doc, env) == resource.spec:
                    continue
                touched.add(same[0].file)
                if _merge_into(same[0], new, env, envs):
                    continue
                _leave(same[0], environment, names)
                same = same[1:]
            fits = next((p for p in same if _merge_into(p, new, env, envs)), None)
            if fits is None:
                fits = Placed(_file_for(placed, resource, same), _select(new, [environment], names))
                placed.append(fits)
            touched.add(fits.file)
        for p in placed:
            gone = p.kind == kind and live.get(kind, p.name) is None and not _ignored(p.name, globs)
            if gone and environment in _selection(p.doc, names):
                _leave(p, environment, names)
                touched.add(p.file)
    kept = [p for p in placed if _selection(p.doc, names)]
    files = {
        rel: _file_text(rel, [p.doc for p in kept if p.file == rel]) for rel in sorted(touched)
    }
    here = [p for p in kept if environment in _selection(p.doc, names)]
    only = sum(1 for p in here if _selection(p.doc, names) == [environment])
    return MergeResult(files, shared=len(here) - only, only_here=only)


def _ignored(name: str, globs: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, g) for g in globs)


def _file_for(placed: list[Placed], resource: Resource, same: list[Placed]) -> str:
    """Where a new declaration goes: beside the others of its name, else a file of its own."""
    if same:
        return same[0].file
    folder = _FOLDERS[resource.kind]
    taken = {p.file for p in placed}
    stem, n = safe_stem(resource.name), 1
    rel = f"{folder}/{stem}.yaml"
    while rel in taken:
        n += 1
        rel = f"{folder}/{stem}-{n}.yaml"
    return rel


def _file_text(rel: str, docs: list[dict[str, Any]]) -> str:
    if not docs:
        return ""
    schema = _SCHEMAS[str(docs[0]["kind"])]
    texts = [
        _dump(d)
        + (
            _secret_placeholder(str(d["name"]))
            if d["kind"] == SERVICE_ACCOUNT and "secret" not in d
            else ""
        )
        for d in docs
    ]
    return _schema_line(rel, schema) + "---\n".join(texts)
