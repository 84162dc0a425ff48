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

import json
import re
import shlex
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from certgov.declarations.config import CONFIG_FILE
from certgov.declarations.schemas import SCHEMA_FILES
from certgov.errors import UsageError
from certgov.resources import data_dir
from certgov.rules.catalogue import BY_ACTION
from certgov.state import KINDS, POLICY, SERVICE_ACCOUNT, Resource, State

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
    for name in SCHEMA_FILES:
        files[f"{SCHEMA_FOLDER}/{name}"] = (data_dir("schemas") / name).read_text(encoding="utf-8")
    return files


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
