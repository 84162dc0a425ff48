"""Environments of certgov.yaml: one repository, several tenants.

    environments:
      staging:    {server, credentials_env, variables, secret_stores, manage, safety, rollout}

Each environment's settings override the top-level ones key by key (`secret_stores` store by
store). `${var.NAME}` in a string value of a declaration, or of a secret store's settings, is
that environment's variable (`$${var.NAME}` is the literal text); the loader substitutes before
the schemas and the checks run, so that a value is judged as the environment will see it. An
object with `environments: [staging]` exists in those environments only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from certgov.declarations.yamlpos import join_index, join_key

REFERENCE = re.compile(r"\$(\$?)\{var\.([^}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Settings of a declaration that say what it is, or where it exists: never substituted.
FIXED_KEYS = ("apiVersion", "kind", "environments")
OVERRIDES = ("secret_stores", "manage", "safety", "rollout")
DEFAULT_CREDENTIALS_ENV = "CERTGOV_"
MISSING_IN = " is not defined in environment "


@dataclass(frozen=True)
class Environment:
    """One environment of certgov.yaml: its tenant, its credentials' variables, its variables
    and the environment its rollouts wait for."""

    name: str
    server: str
    credentials_env: str = DEFAULT_CREDENTIALS_ENV
    variables: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    after: str | None = None

    @classmethod
    def from_document(cls, name: str, doc: Mapping[str, Any]) -> Environment:
        variables = {key: str(value) for key, value in (doc.get("variables") or {}).items()}
        return cls(
            name=name,
            server=str(doc["server"]).rstrip("/"),
            credentials_env=str(doc.get("credentials_env") or DEFAULT_CREDENTIALS_ENV),
            variables=MappingProxyType(variables),
            after=(doc.get("rollout") or {}).get("after"),
        )


def in_rollout_order(environments: Sequence[Environment]) -> tuple[Environment, ...]:
    """The environments in declaration order, except that each comes after the one its
    rollouts wait for (`rollout.after`): the order to apply them in. certgov.yaml is checked
    to hold no cycle; an `after` that names no environment is ignored here."""
    by_name = {env.name: env for env in environments}
    ordered: dict[str, Environment] = {}

    def place(env: Environment, seen: tuple[str, ...]) -> None:
        if env.name in ordered or env.name in seen:
            return
        if env.after in by_name:
            place(by_name[env.after], (*seen, env.name))
        ordered[env.name] = env

    for env in environments:
        place(env, ())
    return tuple(ordered.values())


def overlay(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The Config document as environment `name` sees it: its server, and its overrides of
    secret_stores (by store), manage (by kind, then key), safety and rollout (by key)."""
    env = config["environments"][name]
    merged = {k: v for k, v in config.items() if k != "environments"}
    merged["server"] = env["server"]
    for key in OVERRIDES:
        over = env.get(key)
        if not over:
            continue
        base = dict(merged.get(key) or {})
        for sub, value in over.items():
            nested = key == "manage" and isinstance(base.get(sub), Mapping)
            base[sub] = {**base[sub], **value} if nested else value
        merged[key] = base
    rollout = merged.get("rollout")
    if isinstance(rollout, Mapping) and "after" in rollout:
        merged["rollout"] = {k: v for k, v in rollout.items() if k != "after"}
    return merged


@dataclass(frozen=True)
class Substitution:
    """A value with its variables substituted: the problems found (path, message), and for
    each string that used a variable, what the variables were (for messages about it)."""

    value: Any
    problems: tuple[tuple[str, str], ...]
    used: Mapping[str, str]


def _string(text: str, env: Environment, path: str, problems: list[tuple[str, str]]) -> str:
    def one(match: re.Match[str]) -> str:
        escaped, name = match.groups()
        if escaped:
            return match.group(0)[1:]
        if not _NAME.fullmatch(name):
            problems.append(
                (path, f"${{var.{name}}} is not a variable reference: write ${{var.NAME}}")
            )
        elif name not in env.variables:
            problems.append((path, f"${{var.{name}}}{MISSING_IN}{env.name}"))
        else:
            return env.variables[name]
        return match.group(0)

    return REFERENCE.sub(one, text)


def _used(text: str, env: Environment) -> str:
    names = sorted({m.group(2) for m in REFERENCE.finditer(text) if not m.group(1)})
    said = ", ".join(f'${{var.{n}}} is "{env.variables[n]}"' for n in names if n in env.variables)
    return f"environment {env.name}: {said}" if said else f"environment {env.name}"


def substitute(value: Any, env: Environment, path: str = "", *, top: bool = True) -> Substitution:
    """`value` with every `${var.NAME}` in its strings replaced by `env`'s variable."""
    problems: list[tuple[str, str]] = []
    used: dict[str, str] = {}

    def walk(node: Any, where: str, skip: tuple[str, ...]) -> Any:
        if isinstance(node, str):
            if "${var." not in node:
                return node
            used[where] = _used(node, env)
            return _string(node, env, where, problems)
        if isinstance(node, list):
            return [walk(item, join_index(where, i), ()) for i, item in enumerate(node)]
        if isinstance(node, dict):
            return {
                k: v if k in skip else walk(v, join_key(where, str(k)), ()) for k, v in node.items()
            }
        return node

    out = walk(value, path, FIXED_KEYS if top else ())
    return Substitution(out, tuple(problems), used)


def annotate(message: str, used: Mapping[str, str], path: str) -> str:
    """A problem's message, saying which environment and variables made the value at `path`
    (or an item of the list at `path`)."""
    note = used.get(path)
    if note is None and path:
        note = next((used[p] for p in used if p.startswith(path + "[")), None)
    return f"{message} ({note})" if note else message
