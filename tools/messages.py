"""The error messages certgov can print, read from its source, for the troubleshooting page.

Every `raise SomeError(<message>)` of a `CertgovError` subclass in `src/certgov` (the reference
server excepted: its errors reach users as the API's error codes, which the page lists too) is
read as a template: the literal text of the message, with each interpolated value as `…`. The
page must name each template by its longest literal fragment; `tests/docs` fails when the code
gains a message the page lacks.

    python -m tools.messages   # every template not on the page yet
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "certgov"
PAGE = ROOT / "docs" / "troubleshooting.md"
MIN_FRAGMENT = 12


@dataclass(frozen=True)
class Message:
    file: str
    line: int
    error: str
    template: str

    @property
    def fragment(self) -> str:
        """The longest literal run of the template: what the page must contain."""
        runs = [run.strip(" ;:,.") for run in self.template.split("…")]
        return max(runs, key=len)


def _error_names() -> set[str]:
    import certgov.errors as errors

    return {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, errors.CertgovError)
    }


def _template(node: ast.expr) -> str | None:
    """The literal text of a message expression, values as `…`; None when it is not literal."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else "…" for part in node.values
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _template(node.left), _template(node.right)
        return None if left is None and right is None else (left or "…") + (right or "…")
    return None


def messages() -> Iterator[Message]:
    names = _error_names()
    for path in sorted(SOURCE.rglob("*.py")):
        if "server" in path.relative_to(SOURCE).parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            func = node.exc.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name not in names or not node.exc.args:
                continue
            template = _template(node.exc.args[0])
            if template is None:
                continue
            text = re.sub(r"\s+", " ", template).strip()
            message = Message(str(path.relative_to(ROOT)), node.lineno, name, text)
            if len(message.fragment) >= MIN_FRAGMENT:
                yield message


def missing(page: str | None = None) -> list[Message]:
    """The messages whose fragment the page does not contain."""
    if page is None:
        page = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
    text = re.sub(r"\s+", " ", page)
    text = text.replace("`", "")
    return [m for m in messages() if m.fragment.replace("`", "") not in text]


def main() -> int:
    gaps = missing()
    for m in gaps:
        print(f"{m.file}:{m.line}: {m.error}: {m.template}")
    return 1 if gaps else 0


if __name__ == "__main__":
    sys.exit(main())
