"""Declarations: the YAML a user writes, validated with the JSON Schemas, as the desired State.

    load(path, *, ref=None) -> Declarations     every problem at once, or the desired State

The loader keeps the line and column of every node, so that each problem (and each lint finding
later) points at `file:line:col`.
"""

from __future__ import annotations

from certgov.declarations.config import (
    Config,
    LintConfig,
    ManageConfig,
    RolloutDefaults,
    SafetyConfig,
)
from certgov.declarations.loader import MAX_FILE_BYTES, Declarations, load

__all__ = [
    "MAX_FILE_BYTES",
    "Config",
    "Declarations",
    "LintConfig",
    "ManageConfig",
    "RolloutDefaults",
    "SafetyConfig",
    "load",
]
