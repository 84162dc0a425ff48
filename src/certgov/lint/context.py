"""What the checks read: the declarations, each object's original document, and the facts that
come from outside (the time, the base git ref's State), all gathered before any check runs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from certgov.declarations import Declarations
from certgov.declarations.environments import substitute
from certgov.declarations.yamlpos import Document, load_documents
from certgov.lint.catalogue import BY_ID
from certgov.lint.model import Finding, Location
from certgov.state import Resource, State


def relative_posix(path: Path, root: Path) -> str:
    """`path` relative to `root`, with forward slashes."""
    return Path(os.path.relpath(path.resolve(), root.resolve())).as_posix()


@dataclass
class LintContext:
    """One lint run's inputs. `repo_root` is where finding paths are relative to (the git work
    tree holding the declarations, else the declarations' root)."""

    declarations: Declarations
    repo_root: Path
    now: datetime
    base: State | None = None
    _documents: dict[str, list[Document]] = field(default_factory=dict)

    @property
    def state(self) -> State:
        return self.declarations.state

    def file(self, rel: str) -> str:
        """A declarations-relative path as a repository-relative one."""
        return relative_posix(self.declarations.root / rel, self.repo_root)

    def document(self, resource: Resource) -> Document:
        """The document a desired resource was built from, with its original values (and the
        environment's variables in them)."""
        source = resource.meta["source"]
        rel = str(source["file"])
        if rel not in self._documents:
            text = (self.declarations.root / rel).read_text(encoding="utf-8")
            documents = load_documents(text)[0]
            env = self.declarations.config.environment
            if env is not None:  # the values as this environment sees them, where they are
                documents = [replace(d, value=substitute(d.value, env).value) for d in documents]
            self._documents[rel] = documents
        for doc in self._documents[rel]:
            if (doc.line, doc.col) == (source["line"], source["col"]):
                return doc
        raise LookupError(f"{resource.address} is not at {rel}:{source['line']}")

    def raw(self, resource: Resource) -> Mapping[str, Any]:
        value: Mapping[str, Any] = self.document(resource).value
        return value

    def at(self, resource: Resource, path: str) -> Location:
        """Where the node at `path` sits; the object's `name` when that node is absent."""
        positions = self.document(resource).positions
        line, col = positions.get(path) or positions["name"]
        return Location(self.file(str(resource.meta["source"]["file"])), line, col)

    def finding(
        self,
        rule: str,
        resource: Resource,
        path: str,
        message: str,
        key: str = "",
    ) -> Finding:
        """A finding of `rule` at its default level (the engine applies the configured one)."""
        level = BY_ID[rule].level
        return Finding(rule, level, message, self.at(resource, path), resource.address, key)


def repository_root(root: Path) -> Path:
    """The git work tree holding `root`, else `root` itself: where finding paths start."""
    import git

    try:
        repo = git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return root.resolve()
    with repo:
        return Path(repo.working_tree_dir or root).resolve()
