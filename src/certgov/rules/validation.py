"""Validation of a policy body (contract §4 and §4.2): every problem at once, each with its path.

The rule catalogue drives the checks of `rules[i].values`: which keys exist, which are required,
how many must be present, and each value's type and range. Paths look like
`rules[2].values.minimum_bits` and `matching_criteria.domains[1]`, as the error envelope's
`details[].field` of contract §1 wants them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from certgov.rules.catalogue import BY_ACTION, CATALOGUE, FAIL_MODES, POLICY_ACTIONS, ValueSpec
from certgov.rules.domains import name_problems, pattern_problems
from certgov.rules.names import name_character_problem

Problems = list[tuple[str, str]]

NAME_MAX = 200
DESCRIPTION_MAX = 2000
POLICY_FIELDS = ("name", "description", "is_enabled", "matching_criteria", "rules")
# Fields the server answers with: a client that PUTs back what it read is not wrong.
READ_ONLY_FIELDS = ("id", "created_at", "updated_at", "etag")
CRITERIA_FIELDS = ("action", "domains")
RULE_FIELDS = ("action", "fail", "values")
DEFAULT_FAIL = "hard"

# Every value key of the catalogue, with its spec: the keys are unique across rule actions.
VALUE_SPECS: dict[str, ValueSpec] = {v.key: v for spec in CATALOGUE for v in spec.values}

_DIGITS = re.compile(r"[0-9]+")


class InvalidPolicyError(ValueError):
    """A policy body that fails validation; `problems` holds every (path, message)."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        super().__init__(f"{n} problem{'s' if n != 1 else ''} in the policy")


def parse_int(value: Any) -> int | None:
    """An integer given as an int or a string of digits; None for anything else (bools too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    return None


def type_name(value: Any) -> str:
    """How a JSON value's type reads in a message: 'a string', 'a list', 'null'."""
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return names.get(type(value), type(value).__name__)


def _is_country(value: str) -> bool:
    import pycountry  # 50 ms to import: only when a country is checked

    return (
        len(value) == 2 and value.isupper() and pycountry.countries.get(alpha_2=value) is not None
    )


def value_problems(spec: ValueSpec, value: Any, path: str) -> Problems:
    """Every problem of one rule value against its catalogue spec."""
    if spec.type == "int":
        number = parse_int(value)
        if number is None:
            return [
                (path, f"must be a whole number (or a string of digits), not {type_name(value)}")
            ]
        low, high = spec.minimum, spec.maximum
        if (low is not None and number < low) or (high is not None and number > high):
            return [(path, f"must be between {low} and {high}, not {number}")]
        return []
    if spec.type == "enum_list":
        if not isinstance(value, list) or not value:
            return [(path, f"must be a non-empty list of: {', '.join(spec.choices)}")]
        problems: Problems = []
        for i, item in enumerate(value):
            if item not in spec.choices:
                problems.append((f"{path}[{i}]", _choice_message(spec, item)))
        return problems
    if not isinstance(value, str):
        return [(path, f"must be a string, not {type_name(value)}")]
    if spec.type == "enum":
        return [] if value in spec.choices else [(path, _choice_message(spec, value))]
    if spec.type == "country":
        if _is_country(value):
            return []
        return [(path, f"must be an ISO 3166-1 alpha-2 country code such as NZ, not {value!r}")]
    if spec.type == "domain":
        if value.startswith("."):
            return [(path, "must be a domain name without a leading dot")]
        return [(path, message) for message in name_problems(value)]
    if not value.strip():
        return [(path, "must not be empty")]
    return []


def _choice_message(spec: ValueSpec, value: Any) -> str:
    return f"must be one of {', '.join(spec.choices)}, not {value!r}"


def _unknown_fields(obj: Mapping[str, Any], allowed: Sequence[str], path: str) -> Problems:
    prefix = f"{path}." if path else ""
    return [
        (f"{prefix}{key}", "unknown field") for key in sorted(map(str, obj)) if key not in allowed
    ]


def _name_problems(body: Mapping[str, Any]) -> Problems:
    if "name" not in body:
        return [("name", "is required")]
    name = body["name"]
    if not isinstance(name, str):
        return [("name", f"must be a string, not {type_name(name)}")]
    if not name.strip():
        return [("name", "must not be empty")]
    if len(name) > NAME_MAX:
        return [("name", f"must be at most {NAME_MAX} characters, not {len(name)}")]
    problem = name_character_problem(name)
    return [("name", problem)] if problem else []


def _description_problems(body: Mapping[str, Any]) -> Problems:
    description = body.get("description")
    if description is None:
        return []
    if not isinstance(description, str):
        return [("description", f"must be a string, not {type_name(description)}")]
    if len(description) > DESCRIPTION_MAX:
        return [
            (
                "description",
                f"must be at most {DESCRIPTION_MAX} characters, not {len(description)}",
            )
        ]
    return []


def _enabled_problems(body: Mapping[str, Any]) -> Problems:
    if "is_enabled" in body and not isinstance(body["is_enabled"], bool):
        return [("is_enabled", f"must be true or false, not {type_name(body['is_enabled'])}")]
    return []


def _criteria_problems(body: Mapping[str, Any]) -> Problems:
    path = "matching_criteria"
    if path not in body:
        return [(path, "is required")]
    criteria = body[path]
    if not isinstance(criteria, Mapping):
        return [(path, f"must be an object, not {type_name(criteria)}")]
    problems = _unknown_fields(criteria, CRITERIA_FIELDS, path)
    if "action" not in criteria:
        problems.append((f"{path}.action", "is required"))
    elif criteria["action"] not in POLICY_ACTIONS:
        problems.append(
            (
                f"{path}.action",
                f"must be one of {', '.join(POLICY_ACTIONS)}, not {criteria['action']!r}",
            )
        )
    domains = criteria.get("domains")
    if "domains" not in criteria:
        problems.append((f"{path}.domains", "is required"))
    elif not isinstance(domains, list):
        problems.append((f"{path}.domains", f"must be a list, not {type_name(domains)}"))
    elif not domains:
        problems.append((f"{path}.domains", "must hold at least one domain pattern"))
    else:
        for i, pattern in enumerate(domains):
            where = f"{path}.domains[{i}]"
            if not isinstance(pattern, str):
                problems.append((where, f"must be a string, not {type_name(pattern)}"))
                continue
            problems.extend((where, message) for message in pattern_problems(pattern))
    return problems


def _rule_values_problems(action: str, values: Any, path: str) -> Problems:
    spec = BY_ACTION[action]
    if values is None:
        values = {}
    if not isinstance(values, Mapping):
        return [(path, f"must be an object, not {type_name(values)}")]
    if not spec.values and values:
        return [
            (f"{path}.{key}", f"unknown key: {action} takes no values") for key in sorted(values)
        ]
    known = ", ".join(spec.value_keys)
    problems = [
        (f"{path}.{key}", f"unknown key for {action}; its keys are {known}")
        for key in sorted(values)
        if key not in spec.value_keys
    ]
    for key in spec.required:
        if key not in values:
            problems.append((f"{path}.{key}", "is required"))
    present = [key for key in spec.value_keys if key in values]
    if len(present) < spec.min_values:
        problems.append((path, f"needs at least {spec.min_values} of: {known}"))
    for value_spec in spec.values:
        if value_spec.key in values:
            problems.extend(
                value_problems(value_spec, values[value_spec.key], f"{path}.{value_spec.key}")
            )
    return problems


def _rule_problems(rule: Any, path: str) -> Problems:
    if not isinstance(rule, Mapping):
        return [(path, f"must be an object, not {type_name(rule)}")]
    problems = _unknown_fields(rule, RULE_FIELDS, path)
    if "fail" in rule and rule["fail"] not in FAIL_MODES:
        problems.append((f"{path}.fail", f"must be hard or soft, not {rule['fail']!r}"))
    action = rule.get("action")
    if "action" not in rule:
        problems.append((f"{path}.action", "is required"))
    elif not isinstance(action, str):
        # Checked before the lookup: an object or a list is no dict key (TypeError).
        problems.append((f"{path}.action", f"must be a string, not {type_name(action)}"))
    elif action not in BY_ACTION:
        problems.append((f"{path}.action", f"unknown rule action {action!r}"))
    else:
        problems.extend(_rule_values_problems(action, rule.get("values"), f"{path}.values"))
    return problems


def _validity_bounds(rules: list[Any], key: str, action: str) -> list[tuple[int, int]]:
    """(rule index, days) of every valid `key` of the rules with `action`."""
    out = []
    for i, rule in enumerate(rules):
        if not isinstance(rule, Mapping) or rule.get("action") != action:
            continue
        values = rule.get("values")
        if isinstance(values, Mapping):
            days = parse_int(values.get(key))
            if days is not None and 1 <= days <= 3650:
                out.append((i, days))
    return out


def _cross_rule_problems(rules: list[Any]) -> Problems:
    """min_days must not exceed max_days, across all the policy's rules."""
    problems: Problems = []
    maxima = _validity_bounds(rules, "max_days", "enforce_max_validity")
    for i, min_days in _validity_bounds(rules, "min_days", "enforce_min_validity"):
        for j, max_days in maxima:
            if min_days > max_days:
                problems.append(
                    (
                        f"rules[{i}].values.min_days",
                        f"min_days {min_days} is greater than max_days {max_days}"
                        f" of rules[{j}]: no validity could pass both",
                    )
                )
    return problems


def _rules_problems(body: Mapping[str, Any]) -> Problems:
    if "rules" not in body:
        return [("rules", "is required")]
    rules = body["rules"]
    if not isinstance(rules, list):
        return [("rules", f"must be a list, not {type_name(rules)}")]
    problems: Problems = []
    for i, rule in enumerate(rules):
        problems.extend(_rule_problems(rule, f"rules[{i}]"))
    problems.extend(_cross_rule_problems(rules))
    return problems


def policy_problems(body: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every problem of a policy body (create, PUT or inline dry run), as (JSON path, message).

    An empty list means the body is valid. `description` (default ""), `is_enabled` (default
    false) and a rule's `fail` (default hard) may be left out; a rule's `values` may be left out
    when the rule takes none. The server's read-only fields (`id`, timestamps, `etag`) are
    ignored, so that a body read from the API may be sent back.
    """
    if not isinstance(body, Mapping):
        return [("", f"the policy must be an object, not {type_name(body)}")]
    return [
        *_unknown_fields(body, POLICY_FIELDS + READ_ONLY_FIELDS, ""),
        *_name_problems(body),
        *_description_problems(body),
        *_enabled_problems(body),
        *_criteria_problems(body),
        *_rules_problems(body),
    ]


def normalise_policy_values(rule_values: Mapping[str, Any] | None) -> dict[str, Any]:
    """Rule values as the API answers them: numbers as strings, lists sorted, keys sorted.

    Whole numbers of the catalogue's `int` keys lose leading zeros (`"03072"` → `"3072"`), so
    that an int and its string compare equal. Shared with `certgov.state.normalise_values`.
    """
    out: dict[str, Any] = {}
    for key, value in sorted((rule_values or {}).items()):
        spec = VALUE_SPECS.get(key)
        number = parse_int(value) if spec is not None and spec.type == "int" else None
        if number is not None:
            out[key] = str(number)
        elif isinstance(value, bool):
            out[key] = value
        elif isinstance(value, int):
            out[key] = str(value)
        elif isinstance(value, list):
            out[key] = sorted(str(v) for v in value)
        else:
            out[key] = str(value)
    return out
