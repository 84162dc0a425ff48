"""A small evaluator of GitHub Actions `${{ }}` expressions, for the workflow runner.

It understands what the shipped workflows use, with GitHub's documented semantics: literals
(`'string'` with `''` for a quote, numbers, `true`, `false`, `null`), context properties
(`github.event.pull_request.number`, `needs.reviewed-plan.outputs.fingerprint`; names are
case-insensitive, a missing one is null), indexes (`secrets[format('{0}UUID', matrix.prefix)]`,
`fromJSON(x)[0]`), `!`, `==`, `!=` (strings compare case-insensitively, other mixed types as
numbers), `&&` and `||` (which return an operand, not a boolean), parentheses, the status
functions `success()`, `failure()`, `cancelled()` and `always()`, `format()` and `fromJSON()`.
Anything else (other functions, `*` filters, `<`, a context not available where the expression
stands) raises `ExpressionError` instead of being guessed at.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

STATUS_FUNCTIONS = ("success", "failure", "cancelled", "always")
FUNCTIONS = ("format", "fromjson")
_FORMAT_ITEM = re.compile(r"\{\{|\}\}|\{(\d+)\}|[{}]")
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>\d+(?:\.\d+)?)"
    r"|(?P<op>==|!=|&&|\|\||!|\(|\)|\[|\]|\.|,)|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)
_TEMPLATE = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


class ExpressionError(Exception):
    """An expression this evaluator does not understand (it never guesses)."""


@dataclass(frozen=True)
class Status:
    """What the status functions answer where the expression stands."""

    failed: bool = False
    cancelled: bool = False


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ExpressionError(f"cannot read {text[position:].strip()!r} in {text!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    """Recursive descent: or → and → comparison → unary → primary."""

    def __init__(self, text: str, contexts: Mapping[str, Any], status: Status) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.position = 0
        self.contexts = {name.lower(): value for name, value in contexts.items()}
        self.status = status
        self.uses_status = False

    def parse(self) -> Any:
        value = self._or()
        if self.position != len(self.tokens):
            raise ExpressionError(f"unexpected {self.tokens[self.position][1]!r} in {self.text!r}")
        return value

    def _peek(self) -> str | None:
        return self.tokens[self.position][1] if self.position < len(self.tokens) else None

    def _take(self, expected: str | None = None) -> tuple[str, str]:
        if self.position >= len(self.tokens):
            raise ExpressionError(f"{self.text!r} ends too early")
        token = self.tokens[self.position]
        if expected is not None and token[1] != expected:
            raise ExpressionError(f"expected {expected!r}, found {token[1]!r} in {self.text!r}")
        self.position += 1
        return token

    def _or(self) -> Any:
        return self._chain("||", self._and, keep_left=truthy)

    def _and(self) -> Any:
        return self._chain("&&", self._comparison, keep_left=lambda value: not truthy(value))

    def _chain(self, op: str, operand: Callable[[], Any], keep_left: Callable[[Any], bool]) -> Any:
        """`a op b op c`, giving back the operand that decides, as GitHub does."""
        value = operand()
        while self._peek() == op:
            self._take()
            right = operand()
            value = value if keep_left(value) else right
        return value

    def _comparison(self) -> Any:
        value = self._unary()
        if self._peek() in ("==", "!="):
            op = self._take()[1]
            equal = loosely_equal(value, self._unary())
            return equal if op == "==" else not equal
        return value

    def _unary(self) -> Any:
        if self._peek() == "!":
            self._take()
            return not truthy(self._unary())
        return self._postfix(self._primary())

    def _primary(self) -> Any:
        kind, text = self._take()
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "number":
            return float(text) if "." in text else int(text)
        if text == "(":
            value = self._or()
            self._take(")")
            return value
        if kind != "name":
            raise ExpressionError(f"unexpected {text!r} in {self.text!r}")
        literal = {"true": True, "false": False, "null": None}
        if text in literal:
            return literal[text]
        if self._peek() == "(":
            return self._call(text)
        if text.lower() not in self.contexts:
            raise ExpressionError(f"the context {text!r} is not available in {self.text!r}")
        return self.contexts[text.lower()]

    def _postfix(self, value: Any) -> Any:
        """`.name` and `[index]` after a value, as often as they come."""
        while self._peek() in (".", "["):
            if self._take()[1] == ".":
                kind, name = self._take()
                if kind != "name":
                    raise ExpressionError(f"{name!r} after '.' is not supported in {self.text!r}")
                value = lookup(value, name)
            else:
                value = index(value, self._or())
                self._take("]")
        return value

    def _call(self, name: str) -> Any:
        if name in STATUS_FUNCTIONS:
            self._take("(")
            self._take(")")
            self.uses_status = True
            return {
                "success": not self.status.failed and not self.status.cancelled,
                "failure": self.status.failed,
                "cancelled": self.status.cancelled,
                "always": True,
            }[name]
        if name.lower() not in FUNCTIONS:
            raise ExpressionError(f"the function {name}() is not supported here")
        self._take("(")
        args = [self._or()]
        while self._peek() == ",":
            self._take()
            args.append(self._or())
        self._take(")")
        if name.lower() == "fromjson":
            return from_json(*args)
        return format_text(*args)


def from_json(*args: Any) -> Any:
    """`fromJSON(text)`: the value the JSON text holds."""
    if len(args) != 1 or not isinstance(args[0], str):
        raise ExpressionError(f"fromJSON() takes one string, not {args!r}")
    try:
        return json.loads(args[0])
    except json.JSONDecodeError as exc:
        raise ExpressionError(f"fromJSON(): {args[0]!r} is not JSON: {exc}") from None


def format_text(template: Any, *args: Any) -> str:
    """`format('{0} and {1}', a, b)`: `{N}` replaced by the Nth argument, `{{` and `}}` escaped."""

    def one(match: re.Match[str]) -> str:
        item = match.group(0)
        if item in ("{{", "}}"):
            return item[0]
        if match.group(1) is None or int(match.group(1)) >= len(args):
            raise ExpressionError(f"format(): {item!r} in {template!r} names no argument")
        return as_text(args[int(match.group(1))])

    if not isinstance(template, str):
        raise ExpressionError(f"format() takes a string first, not {template!r}")
    return _FORMAT_ITEM.sub(one, template)


def index(value: Any, key: Any) -> Any:
    """`value[key]`: a property (without case) of an object, an item of an array; else null."""
    if isinstance(value, list):
        number = _number(key)
        if number.is_integer() and 0 <= number < len(value):
            return value[int(number)]
        return None
    return lookup(value, as_text(key))


def lookup(value: Any, name: str) -> Any:
    """`value.name` as GitHub reads it: case-insensitive, null when missing."""
    if not isinstance(value, Mapping):
        return None
    if name in value:
        return value[name]
    for key, item in value.items():
        if str(key).lower() == name.lower():
            return item
    return None


def truthy(value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return value not in (False, 0, "", None)


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool | int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip() or "0")
        except ValueError:
            return math.nan
    return math.nan


def loosely_equal(left: Any, right: Any) -> bool:
    """GitHub's `==`: strings without case, other mixed types converted to numbers."""
    if isinstance(left, str) and isinstance(right, str):
        return left.lower() == right.lower()
    if type(left) is type(right) and not isinstance(left, int | float):
        return bool(left == right)
    return _number(left) == _number(right)


def evaluate(text: str, contexts: Mapping[str, Any], status: Status = Status()) -> Any:
    """The value of one expression (the text inside `${{ }}`)."""
    return _Parser(text, contexts, status).parse()


def condition(text: Any, contexts: Mapping[str, Any], status: Status = Status()) -> bool:
    """An `if:`: with or without `${{ }}`, and `success() &&` unless it calls a status function."""
    if isinstance(text, bool):
        return text and not status.failed
    source = str(text).strip()
    whole = _TEMPLATE.fullmatch(source)
    if whole:
        source = whole.group(1)
    elif "${{" in source:
        raise ExpressionError(f"an if: mixing text and ${{{{ }}}} is not supported: {source!r}")
    parser = _Parser(source, contexts, status)
    value = truthy(parser.parse())
    return value if parser.uses_status else value and not status.failed and not status.cancelled


def as_text(value: Any) -> str:
    """A value put into a string, as GitHub does; objects are refused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str | int | float):
        return str(value)
    raise ExpressionError(f"an object cannot be put into a string: {value!r}")


def interpolate(text: Any, contexts: Mapping[str, Any], status: Status = Status()) -> Any:
    """A workflow value with its `${{ }}` parts replaced; non-strings are returned as they are."""
    if not isinstance(text, str):
        return text
    return _TEMPLATE.sub(lambda m: as_text(evaluate(m.group(1), contexts, status)), text)


def value_of(text: Any, contexts: Mapping[str, Any], status: Status = Status()) -> Any:
    """A workflow value where GitHub keeps what an expression gives (a matrix, its `include`):
    one whole `${{ }}` is its value, objects and arrays included; anything else is text."""
    if isinstance(text, str):
        whole = _TEMPLATE.fullmatch(text.strip())
        if whole:
            return evaluate(whole.group(1), contexts, status)
    return interpolate(text, contexts, status)
