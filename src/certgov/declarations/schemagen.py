"""Generates the rule part of `schemas/policy.json` from the rule catalogue.

The catalogue (`certgov.rules.catalogue`) is the one place that says which rule actions exist and
what values each takes; the policy schema's `$defs` entries listed in `GENERATED_DEFS` are
rewritten from it, the rest of the file is written by hand. Run after changing the catalogue:

    python -m certgov.declarations.schemagen          # rewrite schemas/policy.json
    python -m certgov.declarations.schemagen --check  # exit 1 when the file is out of date
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from certgov.declarations.schemas import repo_schema_dir
from certgov.rules import catalogue
from certgov.rules.catalogue import RuleSpec, ValueSpec

GENERATED_DEFS = (
    "algorithm",
    "digest",
    "extended_key_usage",
    "fail",
    "key_usage",
    "policy_action",
    "purpose",
    "rule",
    "rule_action",
    "subject",
)

# A domain name without a leading dot; its labels are checked beyond the schema.
_DOMAIN_PATTERN = r"^[^.\s][^\s]*$"
_COUNTRY_PATTERN = r"^[A-Z]{2}$"
_DIGITS_PATTERN = r"^[0-9]+$"


def _enum(values: Sequence[str], description: str) -> dict[str, Any]:
    return {"type": "string", "enum": list(values), "description": description}


def value_schema(spec: ValueSpec) -> dict[str, Any]:
    """The JSON Schema of one key of a rule's `values`."""
    if spec.type == "int":
        # `pattern` applies to strings only and `minimum`/`maximum` to numbers only; the loader
        # turns a digit string into its integer before validating, so both get the range check.
        schema: dict[str, Any] = {
            "type": ["integer", "string"],
            "pattern": _DIGITS_PATTERN,
            "description": f"{spec.description} An integer or a string of digits.",
        }
        if spec.minimum is not None:
            schema["minimum"] = spec.minimum
        if spec.maximum is not None:
            schema["maximum"] = spec.maximum
        return schema
    if spec.type == "enum":
        return _enum(spec.choices, spec.description)
    if spec.type == "enum_list":
        return {
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"type": "string", "enum": list(spec.choices)},
            "description": spec.description,
        }
    if spec.type == "country":
        return {"type": "string", "pattern": _COUNTRY_PATTERN, "description": spec.description}
    if spec.type == "domain":
        return {"type": "string", "pattern": _DOMAIN_PATTERN, "description": spec.description}
    if spec.type == "text":
        return {"type": "string", "minLength": 1, "description": spec.description}
    raise ValueError(f"unknown value type {spec.type!r} of {spec.key}")


def _values_schema(rule: RuleSpec) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {v.key: value_schema(v) for v in rule.values},
        "description": f"Values of {rule.action}."
        if rule.values
        else f"{rule.action} takes no values; leave `values` out.",
    }
    if rule.required:
        schema["required"] = list(rule.required)
    if rule.min_values:
        schema["minProperties"] = rule.min_values
    return schema


def _rule_case(rule: RuleSpec) -> dict[str, Any]:
    then: dict[str, Any] = {"properties": {"values": _values_schema(rule)}}
    if rule.required or rule.min_values:
        then["required"] = ["values"]
    return {
        "if": {"properties": {"action": {"const": rule.action}}, "required": ["action"]},
        "then": then,
    }


def _rule_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "One rule: what it checks (`action`), how a failure counts (`fail`) and"
        " its parameters (`values`).",
        "required": ["action", "fail"],
        "additionalProperties": False,
        "properties": {
            "action": {"$ref": "#/$defs/rule_action", "description": "The rule to apply."},
            "fail": {
                "$ref": "#/$defs/fail",
                "description": "hard blocks a failing request; soft lets it through with a"
                " warning. With `rollout`, the target reached after the soft period.",
            },
            "values": {
                "type": "object",
                "description": "The rule's parameters; numbers may be integers or digit strings.",
            },
            "rollout": {
                "$ref": "#/$defs/rollout",
                "description": "Start this rule soft and promote it to hard on evidence from"
                " the audit log; needs `fail: hard`.",
            },
        },
        "dependentSchemas": {
            "rollout": {
                "properties": {
                    "fail": {
                        "const": "hard",
                        "description": "A rule with `rollout` declares its target, `hard`.",
                    }
                }
            }
        },
        "allOf": [_rule_case(rule) for rule in catalogue.CATALOGUE],
    }


def _subject_schema() -> dict[str, Any]:
    values = catalogue.BY_ACTION["enforce_values"].values
    return {
        "type": "object",
        "description": "Certificate subject fields.",
        "additionalProperties": False,
        "properties": {v.key: value_schema(v) for v in values},
    }


def generated_defs() -> dict[str, Any]:
    """The generated `$defs` entries of the policy schema, by name."""
    rule_lines = [f"{r.action}: {r.description}" for r in catalogue.CATALOGUE]
    defs: dict[str, Any] = {
        "algorithm": _enum(catalogue.ALGORITHMS, "Key algorithm."),
        "digest": _enum(catalogue.DIGESTS, "Signature digest."),
        "extended_key_usage": _enum(catalogue.EXTENDED_KEY_USAGES, "An extended key usage."),
        "fail": _enum(catalogue.FAIL_MODES, "hard blocks the request; soft warns."),
        "key_usage": _enum(catalogue.KEY_USAGES, "A key usage."),
        "policy_action": _enum(
            catalogue.POLICY_ACTIONS,
            "certificate.generate (issuance) or certificate.renew (renewal).",
        ),
        "purpose": _enum(catalogue.PURPOSES, "Certificate purpose."),
        "rule": _rule_schema(),
        "rule_action": _enum(
            [r.action for r in catalogue.CATALOGUE], "A rule action:\n" + "\n".join(rule_lines)
        ),
        "subject": _subject_schema(),
    }
    assert tuple(sorted(defs)) == GENERATED_DEFS
    return defs


def render(current: dict[str, Any]) -> str:
    """The policy schema text with its generated `$defs` replaced from the catalogue."""
    schema = dict(current)
    defs = dict(schema.get("$defs") or {})
    defs.update(generated_defs())
    schema["$defs"] = dict(sorted(defs.items()))
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    target = repo_schema_dir() / "policy.json"
    text = target.read_text(encoding="utf-8")
    wanted = render(json.loads(text))
    if "--check" in args:
        if wanted != text:
            sys.stderr.write(f"{target} is stale: run python -m certgov.declarations.schemagen\n")
            return 1
        return 0
    if wanted != text:
        Path(target).write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
