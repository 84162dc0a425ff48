"""Policy body validation: every problem at once, each with its JSON path."""

from __future__ import annotations

from typing import Any

import pytest

from certgov.rules.catalogue import CATALOGUE
from certgov.rules.validation import (
    VALUE_SPECS,
    InvalidPolicyError,
    normalise_policy_values,
    parse_int,
    policy_problems,
)


def _policy(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Production Security Baseline",
        "description": "Comprehensive security policy for production certificates",
        "is_enabled": True,
        "matching_criteria": {
            "action": "certificate.generate",
            "domains": ["prod.example.com", "*.prod.example.com"],
        },
        "rules": [
            {
                "action": "enforce_minimum_key_size",
                "fail": "hard",
                "values": {"minimum_bits": "3072"},
            },
            {"action": "disable_wildcard", "fail": "soft"},
        ],
    }
    body.update(overrides)
    return body


def _rules(*rules: dict[str, Any]) -> dict[str, Any]:
    return _policy(rules=list(rules))


def test_the_contract_example_is_valid() -> None:
    assert policy_problems(_policy()) == []


def test_a_policy_read_from_the_api_may_be_sent_back() -> None:
    body = _policy(id=7, created_at="2026-03-25T10:00:00+00:00", updated_at="x", etag='"7-1"')
    assert policy_problems(body) == []


def test_only_name_matching_criteria_and_rules_are_required() -> None:
    body = {
        "name": "p",
        "matching_criteria": {"action": "certificate.renew", "domains": ["example.com"]},
        "rules": [],
    }
    assert policy_problems(body) == []


def test_every_catalogue_rule_with_valid_values_is_accepted() -> None:
    samples = {
        "int": lambda spec: str(spec.minimum),
        "enum": lambda spec: spec.choices[0],
        "enum_list": lambda spec: list(spec.choices[:2]),
        "country": lambda spec: "NZ",
        "domain": lambda spec: "example.com",
        "text": lambda spec: "Example Ltd",
    }
    rules = [
        {
            "action": spec.action,
            "fail": "soft",
            **({"values": {v.key: samples[v.type](v) for v in spec.values}} if spec.values else {}),
        }
        for spec in CATALOGUE
    ]
    assert policy_problems(_rules(*rules)) == []


def test_a_body_with_every_kind_of_problem_reports_all_of_them_at_once() -> None:
    body = {
        "name": "",
        "descriptio": "typo",
        "is_enabled": "yes",
        "matching_criteria": {
            "action": "certificate.issue",
            "domains": ["*.com", "ok.example.com", "f*.example.com", 3],
            "scope": "all",
        },
        "rules": [
            {
                "action": "enforce_minimum_key_size",
                "fail": "hard",
                "values": {"minimum_bits": "1024"},
            },
            {"action": "enforce_nope", "fail": "soft"},
            {
                "action": "enforce_values",
                "fail": "medium",
                "values": {"country": "nz", "colour": "red"},
            },
            {"action": "enforce_max_validity", "values": {"max_days": 365}},
            {"action": "enforce_min_validity", "values": {"min_days": "400"}},
            {
                "action": "enforce_key_usage",
                "values": {"key_usage": ["digitalSignature", "bogus"], "extended_key_usage": []},
            },
            {"action": "disable_wildcard", "values": {"x": 1}},
            {"action": "enforce_domain_suffix", "values": {"suffix": ".example.com"}},
            {"action": "enforce_max_san_count", "values": {"max_count": True}},
            {"action": "enforce_values", "values": {}},
            {"action": "enforce_digest"},
            "x",
            {"action": "enforce_algorithm", "values": {"algorithm": "dsa"}, "when": "always"},
        ],
    }
    assert policy_problems(body) == [
        ("descriptio", "unknown field"),
        ("name", "must not be empty"),
        ("is_enabled", "must be true or false, not a string"),
        ("matching_criteria.scope", "unknown field"),
        (
            "matching_criteria.action",
            "must be one of certificate.generate, certificate.renew, not 'certificate.issue'",
        ),
        (
            "matching_criteria.domains[0]",
            "'*.com' covers the public suffix 'com':"
            " a wildcard needs a registrable domain below it",
        ),
        (
            "matching_criteria.domains[2]",
            "label 'f*' holds '*': a wildcard must be the whole left-most label",
        ),
        ("matching_criteria.domains[3]", "must be a string, not a number"),
        ("rules[0].values.minimum_bits", "must be between 2048 and 8192, not 1024"),
        ("rules[1].action", "unknown rule action 'enforce_nope'"),
        ("rules[2].fail", "must be hard or soft, not 'medium'"),
        (
            "rules[2].values.colour",
            "unknown key for enforce_values; its keys are organization, organizational_unit,"
            " country, state, locality",
        ),
        (
            "rules[2].values.country",
            "must be an ISO 3166-1 alpha-2 country code such as NZ, not 'nz'",
        ),
        (
            "rules[5].values.key_usage[1]",
            "must be one of digitalSignature, keyEncipherment, nonRepudiation, dataEncipherment,"
            " keyAgreement, keyCertSign, cRLSign, not 'bogus'",
        ),
        (
            "rules[5].values.extended_key_usage",
            "must be a non-empty list of: serverAuth, clientAuth, codeSigning, emailProtection,"
            " timeStamping",
        ),
        ("rules[6].values.x", "unknown key: disable_wildcard takes no values"),
        ("rules[7].values.suffix", "must be a domain name without a leading dot"),
        (
            "rules[8].values.max_count",
            "must be a whole number (or a string of digits), not a boolean",
        ),
        (
            "rules[9].values",
            "needs at least 1 of: organization, organizational_unit, country, state, locality",
        ),
        ("rules[10].values.digest", "is required"),
        ("rules[11]", "must be an object, not a string"),
        ("rules[12].when", "unknown field"),
        ("rules[12].values.algorithm", "must be one of rsa, ecdsa, not 'dsa'"),
        (
            "rules[4].values.min_days",
            "min_days 400 is greater than max_days 365 of rules[3]: no validity could pass both",
        ),
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {},
            [
                ("name", "is required"),
                ("matching_criteria", "is required"),
                ("rules", "is required"),
            ],
        ),
        (
            {"name": 5, "description": 7, "matching_criteria": [], "rules": {}},
            [
                ("name", "must be a string, not a number"),
                ("description", "must be a string, not a number"),
                ("matching_criteria", "must be an object, not a list"),
                ("rules", "must be a list, not an object"),
            ],
        ),
        (
            {
                "name": "x" * 201,
                "description": "d" * 2001,
                "matching_criteria": {},
                "rules": [],
            },
            [
                ("name", "must be at most 200 characters, not 201"),
                ("description", "must be at most 2000 characters, not 2001"),
                ("matching_criteria.action", "is required"),
                ("matching_criteria.domains", "is required"),
            ],
        ),
        (
            {
                "name": "   ",
                "description": None,
                "matching_criteria": {"action": "certificate.renew", "domains": []},
                "rules": [],
            },
            [
                ("name", "must not be empty"),
                ("matching_criteria.domains", "must hold at least one domain pattern"),
            ],
        ),
        (
            {
                "name": "p",
                "matching_criteria": {"action": "certificate.renew", "domains": "example.com"},
                "rules": [],
            },
            [("matching_criteria.domains", "must be a list, not a string")],
        ),
    ],
)
def test_top_level_problems(body: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert policy_problems(body) == expected


def test_a_body_that_is_not_an_object_is_one_problem() -> None:
    assert policy_problems([1, 2]) == [("", "the policy must be an object, not a list")]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"fail": "hard"}, [("rules[0].action", "is required")]),
        (
            {"action": "enforce_minimum_key_size", "values": "3072"},
            [("rules[0].values", "must be an object, not a string")],
        ),
        (
            {"action": "enforce_minimum_key_size", "values": None},
            [("rules[0].values.minimum_bits", "is required")],
        ),
        ({"action": "enforce_minimum_key_size", "values": {"minimum_bits": 2048}}, []),
        ({"action": "enforce_minimum_key_size", "values": {"minimum_bits": "8192"}}, []),
        (
            {"action": "enforce_minimum_key_size", "values": {"minimum_bits": 8193}},
            [("rules[0].values.minimum_bits", "must be between 2048 and 8192, not 8193")],
        ),
        (
            {"action": "enforce_minimum_key_size", "values": {"minimum_bits": "3072 "}},
            [
                (
                    "rules[0].values.minimum_bits",
                    "must be a whole number (or a string of digits), not a string",
                )
            ],
        ),
        (
            {"action": "enforce_minimum_key_size", "values": {"minimum_bits": 3072.0}},
            [
                (
                    "rules[0].values.minimum_bits",
                    "must be a whole number (or a string of digits), not a number",
                )
            ],
        ),
        (
            {"action": "enforce_max_validity", "values": {"max_days": "0"}},
            [("rules[0].values.max_days", "must be between 1 and 3650, not 0")],
        ),
        (
            {"action": "enforce_min_validity", "values": {"min_days": 3651}},
            [("rules[0].values.min_days", "must be between 1 and 3650, not 3651")],
        ),
        (
            {"action": "enforce_max_san_count", "values": {"max_count": "1001"}},
            [("rules[0].values.max_count", "must be between 1 and 1000, not 1001")],
        ),
        ({"action": "enforce_max_san_count", "values": {"max_count": "1000"}}, []),
        (
            {"action": "enforce_values", "values": {"country": "XX"}},
            [
                (
                    "rules[0].values.country",
                    "must be an ISO 3166-1 alpha-2 country code such as NZ, not 'XX'",
                )
            ],
        ),
        (
            {"action": "enforce_values", "values": {"country": "NZL"}},
            [
                (
                    "rules[0].values.country",
                    "must be an ISO 3166-1 alpha-2 country code such as NZ, not 'NZL'",
                )
            ],
        ),
        (
            {"action": "enforce_values", "values": {"organization": " ", "state": None}},
            [
                ("rules[0].values.organization", "must not be empty"),
                ("rules[0].values.state", "must be a string, not null"),
            ],
        ),
        (
            {"action": "enforce_digest", "values": {"digest": "sha1"}},
            [("rules[0].values.digest", "must be one of sha256, sha384, sha512, not 'sha1'")],
        ),
        (
            {"action": "enforce_certificate_purpose", "values": {"purpose": "any"}},
            [
                (
                    "rules[0].values.purpose",
                    "must be one of server, client, code_signing, email, not 'any'",
                )
            ],
        ),
        (
            {"action": "enforce_key_usage", "values": {"key_usage": "digitalSignature"}},
            [
                (
                    "rules[0].values.key_usage",
                    "must be a non-empty list of: digitalSignature, keyEncipherment,"
                    " nonRepudiation, dataEncipherment, keyAgreement, keyCertSign, cRLSign",
                )
            ],
        ),
        (
            {"action": "enforce_domain_suffix", "values": {"suffix": "*.example.com"}},
            [("rules[0].values.suffix", "label '*' holds '*', which is not allowed here")],
        ),
        (
            {"action": "enforce_domain_suffix", "values": {"suffix": 5}},
            [("rules[0].values.suffix", "must be a string, not a number")],
        ),
        (
            {"action": "block_ca_flag", "fail": None},
            [("rules[0].fail", "must be hard or soft, not None")],
        ),
        ({"action": "block_ca_flag", "values": {}}, []),
        ({"action": "block_ca_flag", "values": None}, []),
    ],
)
def test_rule_problems(rule: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert policy_problems(_rules(rule)) == expected


def test_min_days_equal_to_max_days_is_valid() -> None:
    body = _rules(
        {"action": "enforce_min_validity", "values": {"min_days": "90"}},
        {"action": "enforce_max_validity", "values": {"max_days": 90}},
    )
    assert policy_problems(body) == []


def test_min_days_is_compared_with_every_max_days_but_not_with_invalid_ones() -> None:
    body = _rules(
        {"action": "enforce_max_validity", "values": {"max_days": "365"}},
        {"action": "enforce_max_validity", "values": {"max_days": "30"}},
        {"action": "enforce_max_validity", "values": {"max_days": "0"}},
        {"action": "enforce_min_validity", "values": {"min_days": "90"}},
        {"action": "enforce_min_validity", "values": "bad"},
    )
    assert policy_problems(body) == [
        ("rules[2].values.max_days", "must be between 1 and 3650, not 0"),
        ("rules[4].values", "must be an object, not a string"),
        (
            "rules[3].values.min_days",
            "min_days 90 is greater than max_days 30 of rules[1]: no validity could pass both",
        ),
    ]


def test_invalid_policy_error_carries_every_problem() -> None:
    error = InvalidPolicyError([("name", "is required"), ("rules", "is required")])
    assert (str(error), error.problems) == (
        "2 problems in the policy",
        [("name", "is required"), ("rules", "is required")],
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3072, 3072), ("3072", 3072), ("03072", 3072), (True, None), ("-1", None), (1.0, None)],
)
def test_parse_int(value: Any, expected: int | None) -> None:
    assert parse_int(value) == expected


def test_value_keys_are_unique_across_the_catalogue() -> None:
    keys = [v.key for spec in CATALOGUE for v in spec.values]
    assert sorted(keys) == sorted(VALUE_SPECS)


def test_normalise_policy_values_answers_numbers_as_strings_and_sorts_lists() -> None:
    values = {
        "minimum_bits": 3072,
        "max_days": "0365",
        "key_usage": ["keyEncipherment", "digitalSignature"],
        "organization": "Example Ltd",
        "flag": True,
        "other": 7,
    }
    assert normalise_policy_values(values) == {
        "flag": True,
        "key_usage": ["digitalSignature", "keyEncipherment"],
        "max_days": "365",
        "minimum_bits": "3072",
        "organization": "Example Ltd",
        "other": "7",
    }


def test_normalise_policy_values_of_nothing_is_empty() -> None:
    assert normalise_policy_values(None) == {}


def test_state_normalise_values_is_the_same_function() -> None:
    from certgov.state import normalise_values

    assert normalise_values is normalise_policy_values


@pytest.mark.parametrize(
    ("action", "kind"), [({}, "an object"), ([], "a list"), (5, "a number"), (None, "null")]
)
def test_a_rule_action_that_is_not_a_string_is_a_problem(action: Any, kind: str) -> None:
    body = _policy(rules=[{"action": action, "fail": "hard"}])
    assert policy_problems(body) == [("rules[0].action", f"must be a string, not {kind}")]


def test_objects_and_lists_where_enumerated_strings_belong_are_problems() -> None:
    # Each of these is looked up among fixed choices: none may be hashed before its type is known.
    body = _policy(
        matching_criteria={"action": {}, "domains": ["example.com"]},
        rules=[
            {"action": "enforce_algorithm", "fail": [], "values": {"algorithm": {}}},
            {"action": "enforce_key_usage", "fail": "hard", "values": {"key_usage": [[]]}},
        ],
    )
    assert policy_problems(body) == [
        (
            "matching_criteria.action",
            "must be one of certificate.generate, certificate.renew, not {}",
        ),
        ("rules[0].fail", "must be hard or soft, not []"),
        ("rules[0].values.algorithm", "must be a string, not an object"),
        (
            "rules[1].values.key_usage[0]",
            "must be one of digitalSignature, keyEncipherment, nonRepudiation, dataEncipherment,"
            " keyAgreement, keyCertSign, cRLSign, not []",
        ),
    ]


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("web\nhacked", "must not hold the control character U+000A"),
        ("web\u202etxt.exe", "must not hold the bidirectional control character U+202E"),
    ],
)
def test_a_policy_name_with_a_control_character_is_a_problem(name: str, problem: str) -> None:
    assert policy_problems(_policy(name=name)) == [("name", problem)]
