"""SARIF 2.1.0 of a lint report document (certgov.lint's LintReport.to_json()).

Shaped for GitHub code scanning: every rule in `tool.driver.rules` (whether or not it found
anything), result URIs relative to the repository root, and `partialFingerprints` that leave
out line numbers so an alert follows its object across commits. Suppressed findings are kept
as results with an in-source suppression and its justification, so that code scanning closes
them instead of forgetting them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TextIO

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
FINGERPRINT_KEY = "certgovFindingHash/v1"
TOOL_NAME = "certgov"


def _rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": rule["id"],
        "name": rule["name"],
        "shortDescription": {"text": rule["short"]},
        "fullDescription": {"text": f"{rule['short']} {rule['help']}"},
        "help": {"text": rule["help"]},
        "defaultConfiguration": {"level": rule["default_level"], "enabled": True},
    }


def _result(
    finding: Mapping[str, Any], index: Mapping[str, int], reason: str | None
) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": {"uri": finding["file"]}}
    if finding["line"] is not None:
        location["region"] = {"startLine": finding["line"], "startColumn": finding["col"]}
    out: dict[str, Any] = {
        "ruleId": finding["rule"],
        "ruleIndex": index[finding["rule"]],
        "level": finding["level"],
        "message": {"text": finding["message"]},
        "locations": [{"physicalLocation": location}],
        "partialFingerprints": {FINGERPRINT_KEY: finding["fingerprint"]},
    }
    if finding["object"] is not None:
        location_name = {"name": finding["object"], "kind": "object"}
        out["locations"][0]["logicalLocations"] = [location_name]
    if reason is not None:
        out["suppressions"] = [{"kind": "inSource", "justification": reason}]
    return out


def to_sarif(document: Mapping[str, Any]) -> dict[str, Any]:
    """The SARIF log for one lint report document."""
    rules = list(document["rules"])
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results = [_result(f, index, None) for f in document["findings"]]
    results += [_result(s, index, s["reason"]) for s in document["suppressed"]]
    overrides = [
        {
            "descriptor": {"id": rule["id"], "index": index[rule["id"]]},
            "configuration": {"level": rule["level"], "enabled": rule["enabled"]},
        }
        for rule in rules
        if rule["level"] != rule["default_level"] or not rule["enabled"]
    ]
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if overrides:
        invocation["ruleConfigurationOverrides"] = overrides
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "rules": [_rule(rule) for rule in rules],
                    }
                },
                "invocations": [invocation],
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def render(document: Mapping[str, Any], out: TextIO) -> None:
    json.dump(to_sarif(document), out, indent=2, ensure_ascii=False)
    out.write("\n")
