"""The declaration schemas: where they are, and validating a document with them.

The JSON Schemas under `schemas/` are the runtime validation, not a copy of it. Installed from a
wheel they live in the package data (`certgov/_data/schemas`, force-included by pyproject); in
an editable install they are read from the repository's `schemas/` folder.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fastjsonschema

from certgov.declarations.yamlpos import join_index, join_key
from certgov.resources import checkout_dir, load_schema

if TYPE_CHECKING:
    # jsonschema words the problems of a refused document; valid ones never need it.
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

SCHEMA_FILES = ("certgov.json", "config.json", "policy.json", "service-account.json")
ENTRY_SCHEMA = "certgov.json"


def repo_schema_dir() -> Path:
    """The repository's `schemas/` folder, where schemagen writes."""
    return checkout_dir("schemas")


def load_schemas() -> dict[str, dict[str, Any]]:
    """Every schema file, by file name (the installed copy, else the repository's)."""
    return {name: load_schema(name) for name in SCHEMA_FILES}


@cache
def _validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    schemas = load_schemas()
    # The files refer to each other by relative file name (`policy.json#/$defs/duration`), as
    # editors resolve them next to each other; the registry answers those names.
    registry: Registry[Any] = Registry().with_resources(
        (name, Resource.from_contents(body, default_specification=DRAFT202012))
        for name, body in schemas.items()
    )
    return Draft202012Validator(schemas[ENTRY_SCHEMA], registry=registry)


# fastjsonschema resolves the references between the files as URLs under this base, answered
# from the loaded files by a handler (never from the network).
_FAST_BASE = "https://certgov.invalid/schemas/"


class _QuickCheck:
    """The same schemas compiled to Python by fastjsonschema: about 10x faster than jsonschema,
    which matters at thousands of documents. It only says yes or no; the messages come from
    jsonschema, which checks every document this one refuses (tests hold the two to the same
    verdicts).

    The entry schema picks each kind's schema with one `if kind is X, then ...` branch per kind,
    and a rule its values' schema with one per action; compiled as written, each document and
    each rule would try every `if` and raise for each that does not hold (a third of loading a
    policy's time). Here the branch is looked up instead, and each part is compiled when a
    document first needs it (a process reads certgov.yaml without compiling the policies').
    """

    def __init__(self) -> None:
        self.schemas = {name: _as_draft7(body) for name, body in load_schemas().items()}
        self.kinds = _branches(self.schemas[ENTRY_SCHEMA].pop("allOf"), "kind")
        self.actions = _branches(
            self.schemas["policy.json"]["$defs"]["rule"].pop("allOf"), "action"
        )
        self.entry = self._compile(self.schemas[ENTRY_SCHEMA], ENTRY_SCHEMA)
        self._compiled: dict[tuple[str, str], Callable[[Any], Any]] = {}

    def _compile(self, schema: Mapping[str, Any], name: str) -> Callable[[Any], Any]:
        return fastjsonschema.compile(
            {**schema, "$id": _FAST_BASE + name},
            handlers={"https": lambda uri: self.schemas[uri.removeprefix(_FAST_BASE)]},
            use_default=False,
            use_formats=False,
        )

    def _branch(self, key: str, value: Any) -> Callable[[Any], Any] | None:
        table = self.kinds if key == "kind" else self.actions
        if not isinstance(value, str) or value not in table:
            return None
        check = self._compiled.get((key, value))
        if check is None:
            # A kind's branch refers to the other files, an action's to policy.json's $defs.
            if key == "kind":
                check = self._compile(table[value], ENTRY_SCHEMA)
            else:
                policy_defs = {"$defs": self.schemas["policy.json"]["$defs"]}
                check = self._compile({**table[value], **policy_defs}, "policy.json")
            self._compiled[key, value] = check
        return check

    def __call__(self, document: Any) -> None:
        """Raises fastjsonschema.JsonSchemaException when the document breaks a schema."""
        self.entry(document)  # an object with apiVersion and a known kind
        kind = self._branch("kind", document.get("kind"))
        if kind is not None:
            kind(document)
        rules = document.get("rules") if document.get("kind") == "Policy" else None
        for rule in rules if isinstance(rules, list) else ():
            action = self._branch("action", rule.get("action")) if isinstance(rule, dict) else None
            if action is not None:
                action(rule)


@cache
def _fast_check() -> _QuickCheck:
    return _QuickCheck()


def _branches(all_of: list[Any], key: str) -> dict[str, Any]:
    """`{value: then}` of an `allOf` whose every item is `if: {properties: {key: {const: value}},
    required: [key]}, then: ...`; ValueError for any other shape (the lookup would not mean the
    same)."""
    out: dict[str, Any] = {}
    for item in all_of:
        condition = item.get("if") if isinstance(item, dict) else None
        value = (condition or {}).get("properties", {}).get(key, {}).get("const")
        expected = {"properties": {key: {"const": value}}, "required": [key]}
        if not isinstance(value, str) or condition != expected or set(item) != {"if", "then"}:
            raise ValueError(f"the quick schema check cannot look up the branch of {item!r}")
        out[value] = item["then"]
    return out


# Keywords of drafts 2019-09 and 2020-12 that fastjsonschema (drafts 4 to 7) does not know; it
# would skip them silently. `dependentSchemas` has a draft-7 spelling; the rest must not appear.
_NEWER_KEYWORDS = frozenset(
    {
        "dependentRequired",
        "prefixItems",
        "unevaluatedProperties",
        "unevaluatedItems",
        "$anchor",
        "$dynamicRef",
        "$dynamicAnchor",
        "$recursiveRef",
        "minContains",
        "maxContains",
    }
)


def _as_draft7(node: Any) -> Any:
    """The schema in draft-7 words, for fastjsonschema; ValueError on what draft 7 cannot say."""
    if isinstance(node, list):
        return [_as_draft7(item) for item in node]
    if not isinstance(node, dict):
        return node
    unknown = _NEWER_KEYWORDS.intersection(node)
    if unknown or isinstance(node.get("items"), list):
        raise ValueError(f"the quick schema check cannot translate {sorted(unknown) or 'items'}")
    out = {
        ("dependencies" if key == "dependentSchemas" else key): _as_draft7(value)
        for key, value in node.items()
    }
    out.pop("$schema", None)
    return out


def is_valid(document: Any) -> bool:
    """Whether the document meets the schemas (the quick check, without messages)."""
    try:
        _fast_check()(document)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


@dataclass(frozen=True)
class SchemaProblem:
    """One schema violation: the path of the node it is about, and the message."""

    path: str
    message: str
    key: bool = False
    nodes: tuple[str, ...] = ()
    """The paths of the nodes found wrong (a missing property's own path for `required`)."""


def _path(parts: Iterable[str | int]) -> str:
    out = ""
    for part in parts:
        out = join_index(out, part) if isinstance(part, int) else join_key(out, str(part))
    return out


def _custom_message(error: ValidationError) -> str | None:
    # `errorMessage` (as ajv-errors and the YAML language server read it): a friendlier text
    # for keywords whose default message names no field.
    custom = error.schema.get("errorMessage") if isinstance(error.schema, Mapping) else None
    if isinstance(custom, Mapping):
        text = custom.get(str(error.validator))
        return str(text) if text is not None else None
    return None


def _problems(error: ValidationError) -> list[SchemaProblem]:
    path = _path(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        # Point at each unexpected key itself rather than at its parent, and say what fits.
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        allowed = sorted((schema.get("properties") or {}).keys())
        hint = f"allowed here: {', '.join(allowed)}" if allowed else "no fields are allowed here"
        return [
            SchemaProblem(
                join_key(path, str(key)),
                f"unknown field; {hint}",
                key=True,
                nodes=(join_key(path, str(key)),),
            )
            for key in error.instance
            if key not in allowed
        ]
    nodes: tuple[str, ...] = (path,)
    if error.validator == "required" and isinstance(error.instance, Mapping):
        # jsonschema reports each missing property as its own error, named in the message.
        wanted = error.validator_value if isinstance(error.validator_value, list) else []
        nodes = tuple(
            join_key(path, str(k))
            for k in wanted
            if k not in error.instance and error.message.startswith(repr(k))
        )
    message = _custom_message(error) or error.message
    return [SchemaProblem(path, message + _nearest(error), nodes=nodes)]


def _nearest(error: ValidationError) -> str:
    """For a misspelt choice (`disable_wildcards`), the choice it was probably meant to be."""
    if error.validator != "enum" or not isinstance(error.instance, str):
        return ""
    allowed = error.validator_value if isinstance(error.validator_value, list) else []
    choices = [c for c in allowed if isinstance(c, str)]
    found = difflib.get_close_matches(error.instance, choices, n=1, cutoff=0.85)
    return f"; did you mean {found[0]!r}?" if found else ""


def validate(document: Any) -> list[SchemaProblem]:
    """Every schema violation of one document, in a stable order."""
    if is_valid(document):
        return []
    found: set[SchemaProblem] = set()
    for error in _validator().iter_errors(document):
        found.update(_problems(error))
    return sorted(found, key=lambda p: (p.path, p.message))
