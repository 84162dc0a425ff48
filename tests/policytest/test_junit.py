"""JUnit XML of policy test results, validated against a JUnit schema."""

from __future__ import annotations

from pathlib import Path

import xmlschema

from certgov.policytest import PolicyTestCase, judge
from certgov.render import junit

XSD = xmlschema.XMLSchema(Path(__file__).parent / "schemas" / "junit.xsd")
SRC = {"file": "policies/p.yaml", "line": 12, "col": 5}


def results() -> list[dict[str, object]]:
    failing = judge(
        PolicyTestCase("Prod", "small key", {}, "block", source=SRC),
        {
            "result": "warn",
            "violations": [
                {
                    "policy": "Prod",
                    "rule": "enforce_minimum_key_size",
                    "fail": "soft",
                    "message": "too small",
                }
            ],
        },
    )
    passing = judge(PolicyTestCase("Prod", "ok", {}, "pass"), {"result": "pass"})
    other = judge(PolicyTestCase("Dev", "ok", {}, "pass", source=SRC), {"result": "pass"})
    return [failing.to_json(), passing.to_json(), other.to_json()]


def test_junit_output_is_valid_and_whole() -> None:
    text = junit.render_text(results())
    XSD.validate(text)
    assert text == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<testsuites name="certgov policy tests" tests="3" failures="1">\n'
        '  <testsuite name="Prod" tests="2" failures="1" errors="0" skipped="0">\n'
        '    <testcase name="small key" classname="Policy.Prod" file="policies/p.yaml" line="12">\n'
        '      <failure message="expected block, got warn" type="PolicyTestFailure">policies/p.yaml:12: expected block, got warn\n'
        "soft enforce_minimum_key_size: too small</failure>\n"
        "    </testcase>\n"
        '    <testcase name="ok" classname="Policy.Prod" />\n'
        "  </testsuite>\n"
        '  <testsuite name="Dev" tests="1" failures="0" errors="0" skipped="0">\n'
        '    <testcase name="ok" classname="Policy.Dev" file="policies/p.yaml" line="12" />\n'
        "  </testsuite>\n"
        "</testsuites>\n"
    )


def test_junit_of_no_results_is_valid() -> None:
    text = junit.render_text([])
    XSD.validate(text)
    assert text == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<testsuites name="certgov policy tests" tests="0" failures="0" />\n'
    )
