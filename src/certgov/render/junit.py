"""JUnit XML of policy test results: one testsuite per policy, one testcase per test."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any, TextIO


def _location(result: Mapping[str, Any]) -> str:
    src = result.get("source") or {}
    return f"{src.get('file')}:{src.get('line')}" if src else "(no source)"


def render_text(results: Sequence[Mapping[str, Any]]) -> str:
    """`results` are PolicyTestResult.to_json() documents, in report order."""
    by_policy: dict[str, list[Mapping[str, Any]]] = {}
    for r in results:
        by_policy.setdefault(str(r["policy"]), []).append(r)
    total_fail = sum(1 for r in results if not r["passed"])
    root = ET.Element(
        "testsuites",
        {"name": "certgov policy tests", "tests": str(len(results)), "failures": str(total_fail)},
    )
    for policy, items in by_policy.items():
        failures = sum(1 for r in items if not r["passed"])
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": policy,
                "tests": str(len(items)),
                "failures": str(failures),
                "errors": "0",
                "skipped": "0",
            },
        )
        for r in items:
            src = r.get("source") or {}
            attrs = {"name": str(r["name"]), "classname": f"Policy.{policy}"}
            if src:
                attrs["file"] = str(src.get("file"))
                attrs["line"] = str(src.get("line"))
            case = ET.SubElement(suite, "testcase", attrs)
            if not r["passed"]:
                failure = ET.SubElement(
                    case,
                    "failure",
                    {"message": "; ".join(r["failures"]), "type": "PolicyTestFailure"},
                )
                lines = [f"{_location(r)}: {'; '.join(r['failures'])}"]
                lines += [
                    f"{v.get('fail')} {v.get('rule')}: {v.get('message')}"
                    for v in r.get("violations") or ()
                ]
                failure.text = "\n".join(lines)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def render(results: Sequence[Mapping[str, Any]], out: TextIO) -> None:
    out.write(render_text(results))
