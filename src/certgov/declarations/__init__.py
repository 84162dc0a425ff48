"""Declarations: the YAML a user writes, validated with the JSON Schemas, as the desired State.

    load(path, *, ref=None, environment=None) -> Declarations
                                                every problem at once, or the desired State
    load_each(path, *, ref=None) -> [Declarations]   as each environment of certgov.yaml sees it
    load_environments(path) -> (Environment, ...)    certgov.yaml's environments, in rollout order

The loader keeps the line and column of every node, so that each problem (and each lint finding
later) points at `file:line:col`.
"""

from __future__ import annotations

from certgov.declarations.config import (
    Config,
    Endpoint,
    LintConfig,
    ManageConfig,
    RolloutDefaults,
    SafetyConfig,
)
from certgov.declarations.loader import (
    MAX_FILE_BYTES,
    Declarations,
    load,
    load_config,
    load_each,
    load_environments,
)

__all__ = [
    "MAX_FILE_BYTES",
    "Config",
    "Declarations",
    "Endpoint",
    "LintConfig",
    "ManageConfig",
    "RolloutDefaults",
    "SafetyConfig",
    "load",
    "load_config",
    "load_each",
    "load_environments",
]
