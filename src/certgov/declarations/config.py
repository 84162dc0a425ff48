"""The repository configuration (`certgov.yaml`, kind Config) with its defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, cast

from certgov.declarations.durations import parse_duration
from certgov.declarations.environments import Environment, overlay
from certgov.state import KINDS

CONFIG_FILE = "certgov.yaml"
DEFAULT_INCLUDE = ("**/*.yaml", "**/*.yml")

Prune = Literal[False, "disable", "delete"]
# How long an undeclared object stays disabled before `prune: delete` deletes it.
DEFAULT_DELETE_AFTER = 7 * 86400


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


def _seconds(value: Any, default: int) -> int:
    return default if value is None else int(parse_duration(value))


@dataclass(frozen=True)
class ManageConfig:
    """Ownership of one kind: what happens to undeclared live objects, and which to leave alone."""

    prune: Prune = False
    ignore: tuple[str, ...] = ()
    delete_after_seconds: int = DEFAULT_DELETE_AFTER


@dataclass(frozen=True)
class SafetyConfig:
    """A plan that deletes or disables more than this fraction of a kind is refused."""

    max_changes_fraction: float = 0.3
    min_objects: int = 10


@dataclass(frozen=True)
class RolloutDefaults:
    """Defaults for each rule's `rollout` settings."""

    start: str = "soft"
    promote_after_seconds: int = 14 * 86400
    max_warnings: int = 0
    min_requests: int = 20

    def merged(self, declared: Mapping[str, Any]) -> dict[str, Any]:
        """A rule's rollout settings with these defaults filled in."""
        after = declared.get("promote_after")
        return {
            "start": declared.get("start", self.start),
            "promote_after_seconds": parse_duration(after)
            if after is not None
            else self.promote_after_seconds,
            "max_warnings": declared.get("max_warnings", self.max_warnings),
            "min_requests": declared.get("min_requests", self.min_requests),
        }


@dataclass(frozen=True)
class LintConfig:
    """Lint rules turned off, and levels changed from their defaults."""

    disable: tuple[str, ...] = ()
    levels: Mapping[str, str] = field(default_factory=lambda: _frozen({}))


@dataclass(frozen=True)
class Endpoint:
    """Where a tenant's API is (`server:`), and, with environments, which environment it is and
    the prefix of the variables that hold its credentials."""

    server: str | None
    environment: str | None = None
    credentials_env: str | None = None


def _default_manage() -> Mapping[str, ManageConfig]:
    return _frozen({kind: ManageConfig() for kind in KINDS})


@dataclass(frozen=True)
class Config:
    """What `certgov.yaml` says, with a default for every section it leaves out."""

    server: str | None = None
    include: tuple[str, ...] = DEFAULT_INCLUDE
    exclude: tuple[str, ...] = ()
    secret_stores: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: _frozen({}))
    manage: Mapping[str, ManageConfig] = field(default_factory=_default_manage)
    safety: SafetyConfig = field(default_factory=SafetyConfig)
    rollout: RolloutDefaults = field(default_factory=RolloutDefaults)
    lint: LintConfig = field(default_factory=LintConfig)
    environments: tuple[Environment, ...] = ()
    environment: Environment | None = None
    """The environment this config is for (its settings are merged in); None without them."""

    @property
    def endpoint(self) -> Endpoint:
        """Where this config's tenant is."""
        env = self.environment
        if env is None:
            return Endpoint(self.server)
        return Endpoint(env.server, env.name, env.credentials_env)

    def endpoint_of(self, name: str) -> Endpoint:
        """Where environment `name`'s tenant is (a name certgov.yaml declares)."""
        env = next(e for e in self.environments if e.name == name)
        return Endpoint(env.server, env.name, env.credentials_env)

    @property
    def environment_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.environments)

    @classmethod
    def from_document(cls, doc: Mapping[str, Any], environment: str | None = None) -> Config:
        """The config of a schema-valid Config document, as `environment` sees it."""
        environments = tuple(
            Environment.from_document(name, env)
            for name, env in (doc.get("environments") or {}).items()
        )
        chosen = next((e for e in environments if e.name == environment), None)
        if chosen is not None:
            doc = overlay(doc, chosen.name)
        manage_doc = doc.get("manage") or {}
        manage = {
            kind: ManageConfig(
                prune=cast(Prune, (manage_doc.get(kind) or {}).get("prune", False)),
                ignore=tuple((manage_doc.get(kind) or {}).get("ignore") or ()),
                delete_after_seconds=_seconds(
                    (manage_doc.get(kind) or {}).get("delete_after"), DEFAULT_DELETE_AFTER
                ),
            )
            for kind in KINDS
        }
        safety_doc = doc.get("safety") or {}
        defaults = SafetyConfig()
        rollout = RolloutDefaults()
        lint_doc = doc.get("lint") or {}
        server = doc.get("server")
        return cls(
            server=str(server).rstrip("/") if server else None,
            include=tuple(doc.get("include") or DEFAULT_INCLUDE),
            exclude=tuple(doc.get("exclude") or ()),
            secret_stores=_frozen(
                {name: _frozen(spec) for name, spec in (doc.get("secret_stores") or {}).items()}
            ),
            manage=_frozen(manage),
            safety=SafetyConfig(
                max_changes_fraction=float(
                    safety_doc.get("max_changes_fraction", defaults.max_changes_fraction)
                ),
                min_objects=int(safety_doc.get("min_objects", defaults.min_objects)),
            ),
            rollout=RolloutDefaults(**rollout.merged(doc.get("rollout") or {})),
            lint=LintConfig(
                disable=tuple(lint_doc.get("disable") or ()),
                levels=_frozen(lint_doc.get("levels") or {}),
            ),
            environments=environments,
            environment=chosen,
        )
