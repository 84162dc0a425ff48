"""What is valid but probably not meant: `certgov validate` prints it, and `plan` carries it.

Nothing here refuses the declarations; each warning names what to look at and why.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping

from certgov.declarations.config import CONFIG_FILE
from certgov.declarations.loader import Declarations
from certgov.state import KINDS

DEFAULT_FILE_STORE = ".certgov-secrets"


def _where(source: Mapping[str, object] | None) -> str:
    if not source:
        return ""
    return f"{source.get('file')}:{source.get('line')}:{source.get('col')}: "


def declared_but_ignored(decls: Declarations) -> list[str]:
    """Declared objects that `manage.<kind>.ignore` keeps out of every plan."""
    found = []
    for kind in KINDS:
        globs = decls.config.manage[kind].ignore
        for resource in decls.state.of_kind(kind):
            glob = next((g for g in globs if fnmatch.fnmatchcase(resource.name, g)), None)
            if glob is not None:
                found.append(
                    f"{_where(resource.meta.get('source'))}{resource.address} is declared, but "
                    f"manage.{kind}.ignore matches it ({glob!r}): it is never planned; remove it "
                    "from the declarations or from ignore"
                )
    return found


def file_store_warnings(decls: Declarations, environ: Mapping[str, str]) -> list[str]:
    """File stores that lose their secrets with a CI runner, or write outside the repository."""
    found = []
    root = decls.root.resolve()
    for name, config in decls.config.secret_stores.items():
        if not isinstance(config, Mapping) or config.get("type") != "file":
            continue
        path = str(config.get("path") or DEFAULT_FILE_STORE)
        resolved = (decls.root / path).resolve()
        if resolved != root and root not in resolved.parents:
            found.append(
                f"{CONFIG_FILE}: secret_stores.{name}.path {path!r} resolves to {resolved}, "
                f"outside the repository at {root}"
            )
        if environ.get("CI", "").lower() == "true":
            found.append(
                f"{CONFIG_FILE}: secret_stores.{name} is a file store, and this is a CI runner "
                "(CI=true): the secrets apply writes there are lost with the runner, and plan "
                "finds no record of the secrets in use; use a vault, aws or command store in CI"
            )
    return found


def warnings(decls: Declarations, environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Every warning about the declarations, in a stable order."""
    env = os.environ if environ is None else environ
    return (*declared_but_ignored(decls), *file_store_warnings(decls, env))
