"""Reading YAML safely while keeping the line and column of every node.

PyYAML's safe loader is used only to scan, parse and compose node graphs and to resolve scalars;
the conversion to Python values is ours, so that every node's position is recorded under its
path (`rules[1].values.minimum_bits`), duplicate keys are refused (PyYAML silently keeps the last
one), timestamps stay the strings the user wrote, and alias expansion is bounded before any value
is built (a "billion laughs" document is refused instead of being walked).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

MAX_EXPANDED_NODES = 100_000
"""The most nodes one document may expand to once aliases are followed."""

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


@dataclass(frozen=True)
class YamlProblem:
    """Something wrong in a YAML text, at a 1-based line and column, about one path."""

    line: int
    col: int
    path: str
    message: str


@dataclass
class Document:
    """One YAML document: its value, and the position of every node by path."""

    value: Any
    line: int
    col: int
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[str, tuple[int, int]] = field(default_factory=dict)


def join_key(path: str, key: str) -> str:
    """The path of `key` under `path`: `a.b` for identifiers, `a["x y"]` otherwise."""
    if _IDENTIFIER.fullmatch(key):
        return f"{path}.{key}" if path else key
    quoted = '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{path}[{quoted}]"


def join_index(path: str, index: int) -> str:
    return f"{path}[{index}]"


class _Loader(yaml.SafeLoader):
    """A safe loader that composes nodes only; scalars are resolved through it."""


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    """Turns one composed node graph into Python values, recording positions and problems."""

    def __init__(self, loader: _Loader) -> None:
        self.loader = loader
        self.problems: list[YamlProblem] = []
        self.positions: dict[str, tuple[int, int]] = {}
        self.key_positions: dict[str, tuple[int, int]] = {}

    def problem(self, node: yaml.Node, path: str, message: str) -> None:
        line, col = _mark(node)
        self.problems.append(YamlProblem(line, col, path, message))

    def build(self, node: yaml.Node, path: str) -> Any:
        self.positions[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP_TAG:
                self.problem(node, path, f"the tag {node.tag} is not allowed here")
                return {}
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                self.problem(node, path, f"the tag {node.tag} is not allowed here")
                return []
            return [self.build(item, join_index(path, i)) for i, item in enumerate(node.value)]
        if node.tag == _TIMESTAMP_TAG:
            # A date stays the text the user wrote; the schema and the normalisers read text.
            return str(node.value)
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            self.problem(node, path, str(exc.problem))
            return None

    def _mapping(self, node: yaml.MappingNode, path: str) -> dict[str, Any]:
        seen: dict[str, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(key_node, path, "a mapping key must be a plain string")
                continue
            key = str(key_node.value)
            first = seen.get(key)
            if first is not None:
                line, _ = _mark(first)
                self.problem(key_node, join_key(path, key), f"duplicate key (first at line {line})")
            else:
                seen[key] = key_node
        try:
            # Resolves `<<` merge keys in place; the mapping's own keys win over merged ones.
            self.loader.flatten_mapping(node)
        except yaml.constructor.ConstructorError as exc:
            mark = exc.problem_mark or node.start_mark
            self.problems.append(
                YamlProblem(mark.line + 1, mark.column + 1, path, str(exc.problem))
            )
            return {}
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = str(key_node.value)
            child = join_key(path, key)
            self.key_positions[child] = _mark(key_node)
            out[key] = self.build(value_node, child)
        return out


def _expanded_size(root: yaml.Node) -> int | None:
    """How many nodes the graph has with aliases expanded; None when it refers to itself."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int | None:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            return None
        active.add(key)
        total = 1
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                children.extend((k, v))
        elif isinstance(node, yaml.SequenceNode):
            children.extend(node.value)
        for child in children:
            n = size(child)
            if n is None:
                return None
            # Saturate: past the limit the exact count no longer matters.
            total = min(total + n, MAX_EXPANDED_NODES + 1)
        active.discard(key)
        sizes[key] = total
        return total

    return size(root)


def _document_nodes(loader: _Loader) -> Iterator[yaml.Node]:
    while loader.check_node():
        node = loader.get_node()
        if node is not None:
            yield node


def load_documents(text: str) -> tuple[list[Document], list[YamlProblem]]:
    """Every document of `text`, or the problems that keep it from being read.

    A syntax error stops the file (nothing after it can be trusted); other problems are
    collected per document and that document is left out.
    """
    loader = _Loader(text)
    documents: list[Document] = []
    problems: list[YamlProblem] = []
    try:
        for node in _document_nodes(loader):
            line, col = _mark(node)
            expanded = _expanded_size(node)
            if expanded is None:
                problems.append(YamlProblem(line, col, "", "an alias refers to its own anchor"))
                continue
            if expanded > MAX_EXPANDED_NODES:
                problems.append(
                    YamlProblem(
                        line,
                        col,
                        "",
                        f"the document expands to more than {MAX_EXPANDED_NODES} nodes"
                        " through aliases",
                    )
                )
                continue
            builder = _Builder(loader)
            value = builder.build(node, "")
            if builder.problems:
                problems.extend(builder.problems)
                continue
            if value is None:
                continue  # an empty document, e.g. after a trailing `---`
            documents.append(Document(value, line, col, builder.positions, builder.key_positions))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = ": ".join(p for p in (exc.context, exc.problem) if p)
        problems.append(YamlProblem(line, col, "", f"YAML syntax: {message}"))
    finally:
        loader.dispose()
    return documents, problems
