"""Reading YAML safely while keeping the line and column of every node.

PyYAML's safe loader is used only to scan, parse and compose node graphs and to resolve scalars;
the conversion to Python values is ours, so that every node's position is recorded under its
path (`rules[1].values.minimum_bits`), duplicate keys are refused (PyYAML silently keeps the last
one), timestamps stay the strings the user wrote, and alias expansion is bounded before any value
is built (a "billion laughs" document is refused instead of being walked). Nesting is bounded
too, while composing and again once aliases are followed, so that no later recursive walk (ours,
the schema validator's, `copy.deepcopy`) can exhaust the stack.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import yaml

MAX_EXPANDED_NODES = 100_000
"""The most nodes one document may expand to once aliases are followed."""

MAX_DEPTH = 100
"""The deepest nesting of collections one document may have, aliases followed (a declaration
needs fewer than ten levels)."""

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_STR_TAG = "tag:yaml.org,2002:str"
# Every collection a document opens needs one indicator of its own: fewer of them in the text
# than MAX_DEPTH, and it cannot nest that deep.
_NESTING_INDICATORS = "-:?[{"
# An alias starts a token with `*`; text without such a `*` has none (a superset: a `*` that
# starts a quoted or commented word counts too, and costs only the full check).
_ALIAS_START = re.compile(r"(?:^|[\s\[{,])\*")


@dataclass(frozen=True)
class YamlProblem:
    """Something wrong in a YAML text, at a 1-based line and column, about one path."""

    line: int
    col: int
    path: str
    message: str


@dataclass
class Document:
    """One YAML document: its value, where it starts, and the position of every node by path.

    The positions are worked out when first asked for, by reading the document's text again:
    most documents are valid and never need them, and a load of thousands of files then neither
    builds nor (from the forked reader) pickles them.
    """

    value: Any
    line: int
    col: int
    text: str
    index: int
    """Which of the text's documents this is (0 for the first)."""

    @cached_property
    def _located(self) -> tuple[dict[str, tuple[int, int]], dict[str, tuple[int, int]]]:
        return _locate(self.text, self.index)

    @property
    def positions(self) -> dict[str, tuple[int, int]]:
        """The 1-based line and column of each node's value, by path (`""` for the root)."""
        return self._located[0]

    @property
    def key_positions(self) -> dict[str, tuple[int, int]]:
        """The 1-based line and column of each mapping key, by the path of its value."""
        return self._located[1]


def join_key(path: str, key: str) -> str:
    """The path of `key` under `path`: `a.b` for identifiers, `a["x y"]` otherwise."""
    if _IDENTIFIER.fullmatch(key):
        return f"{path}.{key}" if path else key
    quoted = '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{path}[{quoted}]"


def join_index(path: str, index: int) -> str:
    return f"{path}[{index}]"


class _TooDeepError(yaml.MarkedYAMLError):
    """Composing went deeper than MAX_DEPTH levels, at `path`."""

    def __init__(self, path: str, mark: yaml.Mark) -> None:
        super().__init__(
            problem=f"the document nests deeper than {MAX_DEPTH} levels", problem_mark=mark
        )
        self.path = path


class _Loader(yaml.SafeLoader):
    """A safe loader that composes nodes only; scalars are resolved through it.

    PyYAML composes recursively, several Python frames per level of nesting; the path of each
    node being composed is kept here, so that deep input is refused, naming where, before the
    stack runs out.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._paths: list[str] = []

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        # PyYAML passes the key node as `index` while composing a mapping's value, None while
        # composing the key itself, and the position in a sequence.
        above = self._paths[-1] if self._paths else ""
        if isinstance(parent, yaml.SequenceNode):
            path = join_index(above, int(index))
        elif isinstance(index, yaml.ScalarNode):
            path = join_key(above, str(index.value))
        else:
            path = above
        if len(self._paths) >= MAX_DEPTH:
            raise _TooDeepError(path, self.peek_event().start_mark)  # type: ignore[no-untyped-call]
        self._paths.append(path)
        try:
            return super().compose_node(parent, index)
        finally:
            self._paths.pop()


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    """Turns one composed node graph into Python values, recording positions and problems."""

    def __init__(self, loader: Any) -> None:
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
        if node.tag == _STR_TAG:
            return node.value  # the common case, without the constructor's dispatch
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


class _GraphTooDeepError(Exception):
    """The graph nests deeper than MAX_DEPTH levels once aliases are followed."""


def _graph_problem(root: yaml.Node) -> str | None:
    """Why the graph, aliases expanded, is unsafe to build: it refers to itself, is too big or
    too deep; None when it is fine.

    Each node is measured once (size and height); the walk stops at MAX_DEPTH levels, so it
    never recurses deeper than the composer did.
    """
    shapes: dict[int, tuple[int, int]] = {}
    active: set[int] = set()

    def shape(node: yaml.Node, level: int) -> tuple[int, int] | None:
        key = id(node)
        if key in shapes:
            size, height = shapes[key]
            if level + height - 1 > MAX_DEPTH:
                raise _GraphTooDeepError
            return size, height
        if key in active:
            return None
        if level > MAX_DEPTH:
            raise _GraphTooDeepError
        active.add(key)
        total, height = 1, 1
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                children.extend((k, v))
        elif isinstance(node, yaml.SequenceNode):
            children.extend(node.value)
        for child in children:
            measured = shape(child, level + 1)
            if measured is None:
                return None
            # Saturate: past the limit the exact count no longer matters.
            total = min(total + measured[0], MAX_EXPANDED_NODES + 1)
            height = max(height, measured[1] + 1)
        active.discard(key)
        shapes[key] = (total, height)
        return total, height

    try:
        measured = shape(root, 1)
    except _GraphTooDeepError:
        return f"the document nests deeper than {MAX_DEPTH} levels once aliases are followed"
    if measured is None:
        return "an alias refers to its own anchor"
    if measured[0] > MAX_EXPANDED_NODES:
        return f"the document expands to more than {MAX_EXPANDED_NODES} nodes through aliases"
    return None


def _document_nodes(loader: Any) -> Iterator[yaml.Node]:
    while loader.check_node():
        node = loader.get_node()
        if node is not None:
            yield node


_CSafeLoader: Any = getattr(yaml, "CSafeLoader", None)


def _fast_loader(text: str) -> Any:
    """A loader on libyaml's C parser when the text parses cleanly within MAX_DEPTH, else None.

    libyaml composes several times faster than PyYAML's Python parser, but it composes
    recursively in C: the depth is checked first on its flat event stream, and any text that
    does not parse is left to the Python loader, whose errors are the ones reported.
    """
    if _CSafeLoader is None:
        return None
    if not _may_nest_deep(text):
        return _CSafeLoader(text)
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_CSafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return None
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None
    return _CSafeLoader(text)


def _may_nest_deep(text: str) -> bool:
    """Whether `text` has enough nesting indicators to open MAX_DEPTH collections."""
    return sum(map(text.count, _NESTING_INDICATORS)) >= MAX_DEPTH


def _may_expand(text: str) -> bool:
    """Whether a document of `text` can be a graph rather than a tree (it has an alias), or
    have more than MAX_EXPANDED_NODES nodes (without aliases, never more than characters:
    `{a,b}` spends two on a key and its empty value)."""
    return len(text) > MAX_EXPANDED_NODES or _ALIAS_START.search(text) is not None


class _Irregular(Exception):
    """`_from_events` met what only the node path resolves or words: an anchor or alias, a tag,
    a merge key, a key that is not a plain string, a duplicate key, a value the constructor
    refuses, nesting past the limit."""


def _read(loader: Any, text: str) -> tuple[list[Document], list[YamlProblem]]:
    documents: list[Document] = []
    problems: list[YamlProblem] = []
    check_graph = _may_expand(text)
    for index, node in enumerate(_document_nodes(loader)):
        line, col = _mark(node)
        unsafe = _graph_problem(node) if check_graph else None
        if unsafe is not None:
            problems.append(YamlProblem(line, col, "", unsafe))
            continue
        builder = _Builder(loader)
        value = builder.build(node, "")
        if builder.problems:
            problems.extend(builder.problems)
            continue
        if value is None:
            continue  # an empty document, e.g. after a trailing `---`
        documents.append(Document(value, line, col, text, index))
    return documents, problems


def _locate(text: str, index: int) -> tuple[dict[str, tuple[int, int]], dict[str, tuple[int, int]]]:
    """The value and key positions of the `index`th document of `text`, which was read
    before without problems (by the C loader when it could, else by the Python one)."""
    for make in (_fast_loader, _Loader):
        loader = make(text)
        if loader is None:
            continue
        try:
            for i, node in enumerate(_document_nodes(loader)):
                if i == index:
                    builder = _Builder(loader)
                    builder.build(node, "")
                    return builder.positions, builder.key_positions
        except yaml.YAMLError:
            continue  # the C loader refused what the Python loader then read
        finally:
            loader.dispose()
    raise LookupError(f"the text has no document {index}")


_RESOLVERS: dict[str | None, list[tuple[str, re.Pattern[str]]]] = (
    yaml.SafeLoader.yaml_implicit_resolvers
)
_KEY = object()  # a mapping waiting for its next key
_ITEM = object()  # a sequence


def _quick_read(text: str) -> list[Document] | None:
    """The documents of `text` built straight from libyaml's events, without composing nodes;
    None unless every document is a plain tree of mappings, sequences and untagged scalars
    (no anchor, alias, tag, merge or duplicate key, no key but a string, and no text so large
    or nesting so deep that the limits need checking), or the text does not parse: the node
    path then reads it and words what it finds."""
    if _CSafeLoader is None or len(text) > MAX_EXPANDED_NODES:
        return None
    loader = _CSafeLoader(text)
    try:
        return _from_events(loader, text)
    except (_Irregular, yaml.YAMLError):
        return None
    finally:
        loader.dispose()


_SCALAR, _ALIAS = yaml.ScalarEvent, yaml.AliasEvent
_MAPPING_START, _SEQUENCE_START = yaml.MappingStartEvent, yaml.SequenceStartEvent
_MAPPING_END, _SEQUENCE_END = yaml.MappingEndEvent, yaml.SequenceEndEvent
_DOCUMENT_START, _STREAM_END = yaml.DocumentStartEvent, yaml.StreamEndEvent


def _from_events(loader: Any, text: str) -> list[Document]:
    documents: list[Document] = []
    containers: list[Any] = []  # the open mappings and sequences, innermost last
    waiting: list[Any] = []  # for each: _ITEM, _KEY, or the key whose value comes next
    index = -1
    root = (1, 1)
    get = loader.get_event
    resolvers = _RESOLVERS
    while True:
        event = get()
        kind = type(event)
        if kind is _SCALAR:
            value = event.value
            plain, quoted = event.implicit
            if event.anchor is not None or not (plain or quoted):
                raise _Irregular  # an anchor, a tag
            if plain:
                for tag, regexp in resolvers.get(value[:1], ()):
                    if regexp.match(value):
                        if tag != _TIMESTAMP_TAG:  # a date stays the text written
                            value = _construct(loader, yaml.ScalarNode(tag, value))
                        break
            if not containers:
                root = event.start_mark.line + 1, event.start_mark.column + 1
        elif kind is _MAPPING_START or kind is _SEQUENCE_START:
            if event.anchor is not None or not event.implicit or len(containers) >= MAX_DEPTH:
                raise _Irregular
            if not containers:
                root = event.start_mark.line + 1, event.start_mark.column + 1
            if kind is _MAPPING_START:
                containers.append({})
                waiting.append(_KEY)
            else:
                containers.append([])
                waiting.append(_ITEM)
            continue
        elif kind is _MAPPING_END or kind is _SEQUENCE_END:
            value = containers.pop()
            waiting.pop()
        elif kind is _DOCUMENT_START:
            index += 1
            continue
        elif kind is _STREAM_END:
            return documents
        elif kind is _ALIAS:
            raise _Irregular
        else:
            continue  # the stream's start, a document's end
        if not containers:
            if value is not None:
                documents.append(Document(value, root[0], root[1], text, index))
            continue
        slot = waiting[-1]
        if slot is _ITEM:
            containers[-1].append(value)
        elif slot is _KEY:
            if type(value) is not str or value in containers[-1]:
                raise _Irregular
            waiting[-1] = value
        else:
            containers[-1][slot] = value
            waiting[-1] = _KEY


def _construct(loader: Any, node: yaml.ScalarNode) -> Any:
    try:
        return loader.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as exc:
        raise _Irregular from exc


def load_documents(text: str) -> tuple[list[Document], list[YamlProblem]]:
    """Every document of `text`, or the problems that keep it from being read.

    A syntax error stops the file (nothing after it can be trusted); other problems are
    collected per document and that document is left out.
    """
    quick = _quick_read(text)
    if quick is not None:
        return quick, []
    fast = _fast_loader(text)
    if fast is not None:
        try:
            return _read(fast, text)
        except yaml.YAMLError:
            pass  # the Python loader reads it again and words the error
        finally:
            fast.dispose()
    problems: list[YamlProblem] = []
    loader: _Loader | None = None
    try:
        # Building the loader reads the whole text: a control character fails it right here.
        loader = _Loader(text)
        return _read(loader, text)
    except yaml.reader.ReaderError as exc:
        line, col = _offset_position(text, exc.position)
        problems.append(
            YamlProblem(
                line, col, "", f"the non-printable character U+{exc.character:04X} is not allowed"
            )
        )
    except _TooDeepError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problems.append(YamlProblem(line, col, exc.path, str(exc.problem)))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = ": ".join(p for p in (exc.context, exc.problem) if p)
        problems.append(YamlProblem(line, col, "", f"YAML syntax: {message}"))
    finally:
        if loader is not None:
            loader.dispose()
    return [], problems


def _offset_position(text: str, offset: int) -> tuple[int, int]:
    """The 1-based line and column of a character offset into `text`."""
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1
