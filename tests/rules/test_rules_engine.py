"""The rule engine: every rule's pass, soft fail and hard fail; the merge; the whole answer."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from certgov.rules.catalogue import BY_ACTION
from certgov.rules.engine import CHECKS, Evaluation, PolicyInput, Rule, evaluate
from certgov.rules.request import CertRequest
from certgov.rules.validation import InvalidPolicyError

BASE = CertRequest(
    action="certificate.generate",
    common_name="api.prod.example.com",
    key_algorithm="rsa",
    key_size=3072,
    digest="sha256",
    validity_days=90,
    dns_sans=("api.prod.example.com",),
    subject={"organization": "Example Ltd", "country": "NZ"},
    key_usage=("digitalSignature",),
    extended_key_usage=("serverAuth",),
    purpose="server",
)
WILD = ("*.prod.example.com",)


def _request(**changes: Any) -> CertRequest:
    return dataclasses.replace(BASE, **changes)


def _policy(
    *rules: Rule,
    name: str = "Baseline",
    id: int | None = 7,
    domains: tuple[str, ...] = WILD,
    enabled: bool = True,
    action: str = "certificate.generate",
) -> PolicyInput:
    return PolicyInput(id, name, enabled, action, domains, rules)


# (rule action, values, policy domains, changes that pass, changes that fail, failure message)
MATRIX: list[tuple[str, dict[str, Any], tuple[str, ...], dict[str, Any], dict[str, Any], str]] = [
    (
        "enforce_values",
        {"organization": "Example Ltd", "country": "NZ"},
        WILD,
        {},
        {"subject": {"organization": "Other Ltd", "country": "NZ"}},
        "subject organization 'Other Ltd' differs from the required 'Example Ltd'",
    ),
    (
        "enforce_key_usage",
        {"key_usage": ["digitalSignature", "keyEncipherment"]},
        WILD,
        {"key_usage": ("keyAgreement", "keyEncipherment", "digitalSignature")},
        {},
        "key usage keyEncipherment is required but not requested",
    ),
    (
        "disable_wildcard",
        {},
        WILD,
        {},
        {"dns_sans": ("*.prod.example.com",)},
        "wildcard name *.prod.example.com is not allowed",
    ),
    (
        "block_subdomains",
        {},
        ("prod.example.com", "*.prod.example.com"),
        {"common_name": "prod.example.com", "dns_sans": ("prod.example.com",)},
        {},
        "name api.prod.example.com is a subdomain of prod.example.com,"
        " which the policy lists exactly",
    ),
    (
        "block_other_domains",
        {},
        WILD,
        {},
        {"dns_sans": ("api.prod.example.com", "api.other.org")},
        "name api.other.org matches none of the policy's domains (*.prod.example.com)",
    ),
    (
        "enforce_domain_suffix",
        {"suffix": "example.com"},
        WILD,
        {"dns_sans": ("api.prod.example.com", "example.com")},
        {"dns_sans": ("api.prod.example.com", "www.example.org")},
        "name www.example.org is not within example.com",
    ),
    (
        "enforce_minimum_key_size",
        {"minimum_bits": "3072"},
        WILD,
        {},
        {"key_size": 2048},
        "RSA key 2048 bits is below the minimum of 3072",
    ),
    (
        "enforce_algorithm",
        {"algorithm": "rsa"},
        WILD,
        {},
        {"key_algorithm": "ecdsa", "key_size": 256},
        "key algorithm ecdsa is not the required rsa",
    ),
    (
        "enforce_digest",
        {"digest": "sha256"},
        WILD,
        {},
        {"digest": "sha1"},
        "digest sha1 is not the required sha256",
    ),
    (
        "enforce_max_validity",
        {"max_days": "90"},
        WILD,
        {},
        {"validity_days": 91},
        "validity of 91 days exceeds the maximum of 90",
    ),
    (
        "enforce_min_validity",
        {"min_days": "30"},
        WILD,
        {"validity_days": 30},
        {"validity_days": 29},
        "validity of 29 days is below the minimum of 30",
    ),
    (
        "block_ip_in_san",
        {},
        WILD,
        {},
        {"ip_sans": ("10.0.0.1",)},
        "IP SAN 10.0.0.1 not allowed",
    ),
    (
        "enforce_max_san_count",
        {"max_count": "2"},
        WILD,
        {"ip_sans": ("10.0.0.1",)},
        {"ip_sans": ("10.0.0.1",), "email_sans": ("ops@example.com",)},
        "3 SANs exceed the maximum of 2",
    ),
    (
        "require_san",
        {},
        WILD,
        {"dns_sans": (), "uri_sans": ("spiffe://example.com/api",)},
        {"dns_sans": ()},
        "the request has no SAN; at least one is required",
    ),
    (
        "block_email_in_san",
        {},
        WILD,
        {},
        {"email_sans": ("ops@example.com",)},
        "email SAN ops@example.com not allowed",
    ),
    (
        "enforce_certificate_purpose",
        {"purpose": "server"},
        WILD,
        {},
        {"purpose": "client"},
        "purpose client is not the required server",
    ),
    (
        "block_ca_flag",
        {},
        WILD,
        {},
        {"is_ca": True},
        "the request asks for CA:TRUE, which is not allowed",
    ),
]
MODES = ("pass", "soft", "hard")


def test_the_matrix_covers_every_catalogue_rule_once() -> None:
    assert sorted(row[0] for row in MATRIX) == sorted(BY_ACTION)


def test_there_is_one_check_per_catalogue_rule() -> None:
    assert sorted(CHECKS) == sorted(BY_ACTION)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("action", "values", "domains", "passing", "failing", "message"),
    MATRIX,
    ids=[row[0] for row in MATRIX],
)
def test_rule_matrix(
    action: str,
    values: dict[str, Any],
    domains: tuple[str, ...],
    passing: dict[str, Any],
    failing: dict[str, Any],
    message: str,
    mode: str,
) -> None:
    fail = "hard" if mode == "pass" else mode
    policy = _policy(Rule(action, fail, values), domains=domains)
    request = _request(**(passing if mode == "pass" else failing))
    expected_violations = (
        []
        if mode == "pass"
        else [{"policy": "Baseline", "rule": action, "fail": fail, "message": message}]
    )
    result = {"pass": "pass", "soft": "warn", "hard": "block"}[mode]
    assert evaluate(request, [policy]).to_json() == {
        "result": result,
        "allowed": mode != "hard",
        "matched_policies": [{"id": 7, "name": "Baseline"}],
        "violations": expected_violations,
        "applied_values": {},
    }


def _messages(request: CertRequest, *rules: Rule, domains: tuple[str, ...] = WILD) -> list[str]:
    evaluation = evaluate(request, [_policy(*rules, domains=domains)])
    return [v["message"] for v in evaluation.violations]


@pytest.mark.parametrize(
    ("size", "minimum", "expected"),
    [
        (256, "3072", []),
        (256, "4096", ["ECDSA P-256 key (RSA-equivalent 3072 bits) is below the minimum of 4096"]),
        (384, "7680", []),
        (384, "8192", ["ECDSA P-384 key (RSA-equivalent 7680 bits) is below the minimum of 8192"]),
        (521, "8192", []),
    ],
)
def test_ecdsa_keys_are_compared_by_rsa_equivalent_strength(
    size: int, minimum: str, expected: list[str]
) -> None:
    request = _request(key_algorithm="ecdsa", key_size=size)
    rule = Rule("enforce_minimum_key_size", "hard", {"minimum_bits": minimum})
    assert _messages(request, rule) == expected


def test_an_rsa_key_of_exactly_the_minimum_passes() -> None:
    rule = Rule("enforce_minimum_key_size", "hard", {"minimum_bits": "3072"})
    assert _messages(_request(key_size=3072), rule) == []


def test_enforce_values_fills_empty_fields_into_applied_values() -> None:
    rule = Rule("enforce_values", "hard", {"organization": "Example Ltd", "locality": "Wellington"})
    evaluation = evaluate(_request(subject={"organization": "Example Ltd"}), [_policy(rule)])
    assert (evaluation.result, evaluation.applied_values) == ("pass", {"locality": "Wellington"})


def test_enforce_values_reports_every_differing_field() -> None:
    rule = Rule("enforce_values", "hard", {"organization": "Example Ltd", "country": "NZ"})
    request = _request(subject={"organization": "Acme", "country": "AU"})
    assert _messages(request, rule) == [
        "subject country 'AU' differs from the required 'NZ'",
        "subject organization 'Acme' differs from the required 'Example Ltd'",
    ]


def test_enforce_values_compares_the_country_case_insensitively() -> None:
    rule = Rule("enforce_values", "hard", {"country": "NZ"})
    assert _messages(_request(subject={"country": "nz"}), rule) == []


def test_enforce_key_usage_names_every_missing_usage_of_both_kinds() -> None:
    rule = Rule(
        "enforce_key_usage",
        "hard",
        {
            "key_usage": ["digitalSignature", "keyEncipherment", "keyAgreement"],
            "extended_key_usage": ["clientAuth", "serverAuth"],
        },
    )
    assert _messages(_request(), rule) == [
        "extended key usage clientAuth is required but not requested",
        "key usage keyEncipherment, keyAgreement are required but not requested",
    ]


def test_disable_wildcard_names_every_wildcard() -> None:
    request = _request(common_name="*.prod.example.com", dns_sans=("*.api.prod.example.com",))
    assert _messages(request, Rule("disable_wildcard", "hard", {})) == [
        "wildcard names *.prod.example.com, *.api.prod.example.com are not allowed"
    ]


def test_block_subdomains_ignores_wildcard_patterns() -> None:
    rule = Rule("block_subdomains", "hard", {})
    assert _messages(_request(), rule, domains=("*.example.com",)) == []


def test_block_subdomains_counts_a_name_repeated_in_cn_and_san_once() -> None:
    request = _request(common_name="API.prod.example.com", dns_sans=("api.prod.example.com.",))
    rule = Rule("block_subdomains", "hard", {})
    assert _messages(request, rule, domains=("prod.example.com", *WILD)) == [
        "name API.prod.example.com is a subdomain of prod.example.com,"
        " which the policy lists exactly"
    ]


def test_block_other_domains_names_every_other_name() -> None:
    request = _request(dns_sans=("api.prod.example.com", "a.other.org", "b.other.org"))
    assert _messages(request, Rule("block_other_domains", "hard", {})) == [
        "names a.other.org, b.other.org match none of the policy's domains (*.prod.example.com)"
    ]


def test_enforce_domain_suffix_compares_idns_in_ascii_form() -> None:
    request = _request(common_name="shop.bücher.example", dns_sans=("xn--bcher-kva.example",))
    rule = Rule("enforce_domain_suffix", "hard", {"suffix": "BÜCHER.example"})
    assert _messages(request, rule, domains=("*.bücher.example",)) == []


def test_enforce_domain_suffix_names_every_name_outside() -> None:
    request = _request(dns_sans=("api.prod.example.com", "a.example.org", "notexample.com"))
    rule = Rule("enforce_domain_suffix", "hard", {"suffix": "example.com"})
    assert _messages(request, rule) == [
        "names a.example.org, notexample.com are not within example.com"
    ]


def test_max_san_count_counts_all_four_lists_but_not_the_cn() -> None:
    request = _request(
        dns_sans=("api.prod.example.com",),
        ip_sans=("10.0.0.1",),
        email_sans=("ops@example.com",),
        uri_sans=("spiffe://example.com/api",),
    )
    assert _messages(request, Rule("enforce_max_san_count", "hard", {"max_count": "4"})) == []
    assert _messages(request, Rule("enforce_max_san_count", "hard", {"max_count": "3"})) == [
        "4 SANs exceed the maximum of 3"
    ]


def test_plural_ip_and_email_messages() -> None:
    request = _request(ip_sans=("10.0.0.1", "::1"), email_sans=("a@example.com", "b@example.com"))
    assert _messages(
        request, Rule("block_ip_in_san", "hard", {}), Rule("block_email_in_san", "soft", {})
    ) == [
        "email SANs a@example.com, b@example.com not allowed",
        "IP SANs 10.0.0.1, ::1 not allowed",
    ]


def test_a_missing_purpose_fails_a_purpose_rule() -> None:
    rule = Rule("enforce_certificate_purpose", "hard", {"purpose": "server"})
    assert _messages(_request(purpose=None), rule) == [
        "no purpose requested; the required purpose is server"
    ]


# The merge of several matching policies (§4.2 [decided]).

KEY_3072 = Rule("enforce_minimum_key_size", "soft", {"minimum_bits": "3072"})
KEY_4096_HARD = Rule("enforce_minimum_key_size", "hard", {"minimum_bits": "4096"})
NO_WILDCARD_SOFT = Rule("disable_wildcard", "soft", {})


def test_a_rule_failing_hard_in_one_policy_counts_as_hard_in_every_policy() -> None:
    global_policy = _policy(KEY_3072, name="Global", id=1, domains=("*.example.com",))
    prod = _policy(KEY_4096_HARD, name="Prod", id=2)
    evaluation = evaluate(_request(key_size=2048), [prod, global_policy])
    assert evaluation.to_json() == {
        "result": "block",
        "allowed": False,
        "matched_policies": [{"id": 1, "name": "Global"}, {"id": 2, "name": "Prod"}],
        "violations": [
            {
                "policy": "Global",
                "rule": "enforce_minimum_key_size",
                "fail": "hard",
                "message": "RSA key 2048 bits is below the minimum of 3072",
            },
            {
                "policy": "Prod",
                "rule": "enforce_minimum_key_size",
                "fail": "hard",
                "message": "RSA key 2048 bits is below the minimum of 4096",
            },
        ],
        "applied_values": {},
    }


def test_a_hard_instance_that_passes_does_not_harden_a_soft_failure() -> None:
    global_policy = _policy(KEY_3072, name="Global", id=1)
    prod = _policy(
        Rule("enforce_minimum_key_size", "hard", {"minimum_bits": "2048"}), name="Prod", id=2
    )
    evaluation = evaluate(_request(key_size=2048), [global_policy, prod])
    assert (evaluation.result, evaluation.violations) == (
        "warn",
        [
            {
                "policy": "Global",
                "rule": "enforce_minimum_key_size",
                "fail": "soft",
                "message": "RSA key 2048 bits is below the minimum of 3072",
            }
        ],
    )


def test_soft_failures_of_different_rules_stay_soft_beside_a_hard_one() -> None:
    policy_a = _policy(NO_WILDCARD_SOFT, name="A", id=1)
    policy_b = _policy(KEY_4096_HARD, name="B", id=2)
    request = _request(dns_sans=("*.prod.example.com",))
    evaluation = evaluate(request, [policy_a, policy_b])
    assert [(v["policy"], v["rule"], v["fail"]) for v in evaluation.violations] == [
        ("A", "disable_wildcard", "soft"),
        ("B", "enforce_minimum_key_size", "hard"),
    ]


def test_the_first_policy_by_name_fills_a_field_and_later_policies_see_it_set() -> None:
    first = _policy(Rule("enforce_values", "soft", {"organization": "Example Ltd"}), name="A", id=2)
    second = _policy(Rule("enforce_values", "hard", {"organization": "Other Ltd"}), name="B", id=1)
    evaluation = evaluate(_request(subject={}), [second, first])
    assert evaluation.to_json() == {
        "result": "block",
        "allowed": False,
        "matched_policies": [{"id": 2, "name": "A"}, {"id": 1, "name": "B"}],
        "violations": [
            {
                "policy": "B",
                "rule": "enforce_values",
                "fail": "hard",
                "message": "subject organization 'Example Ltd' differs from the required 'Other Ltd'",
            }
        ],
        "applied_values": {"organization": "Example Ltd"},
    }


def test_the_answer_does_not_depend_on_the_order_of_policies_or_rules() -> None:
    a = _policy(KEY_3072, NO_WILDCARD_SOFT, name="A", id=1)
    b = _policy(Rule("block_ca_flag", "soft", {}), Rule("require_san", "soft", {}), name="B", id=2)
    a_reordered = dataclasses.replace(a, rules=tuple(reversed(a.rules)))
    request = _request(key_size=2048, common_name="*.prod.example.com", dns_sans=(), is_ca=True)
    assert evaluate(request, [a, b]) == evaluate(request, [b, a_reordered])


def test_disabled_policies_do_not_apply() -> None:
    policy = _policy(KEY_4096_HARD, enabled=False)
    assert evaluate(_request(), [policy]).to_json() == {
        "result": "pass",
        "allowed": True,
        "matched_policies": [],
        "violations": [],
        "applied_values": {},
    }


def test_ignore_enabled_applies_a_disabled_policy() -> None:
    policy = _policy(KEY_4096_HARD, enabled=False)
    assert evaluate(_request(), [policy], ignore_enabled=True).result == "block"


def test_ignore_enabled_still_needs_a_matching_name() -> None:
    policy = _policy(KEY_4096_HARD, enabled=False, domains=("*.other.org",))
    evaluation = evaluate(_request(), [policy], ignore_enabled=True)
    assert (evaluation.result, evaluation.matched_policies) == ("pass", [])


def test_a_policy_for_another_action_does_not_apply() -> None:
    policy = _policy(KEY_4096_HARD, action="certificate.renew")
    assert evaluate(_request(), [policy]).matched_policies == []


def test_any_name_matching_any_pattern_applies_the_policy() -> None:
    policy = _policy(KEY_4096_HARD, domains=("nomatch.example.com", "www.example.org"))
    request = _request(dns_sans=("api.prod.example.com", "WWW.example.org."))
    assert evaluate(request, [policy]).matched_policies == [{"id": 7, "name": "Baseline"}]


def test_no_policies_pass() -> None:
    assert evaluate(_request(), []) == Evaluation(result="pass", allowed=True)


def test_to_json_returns_copies() -> None:
    evaluation = evaluate(
        _request(subject={}), [_policy(Rule("enforce_values", "soft", {"country": "NZ"}))]
    )
    document = evaluation.to_json()
    document["applied_values"]["country"] = "AU"
    assert evaluation.applied_values == {"country": "NZ"}


# PolicyInput from the API's JSON.

API_POLICY = {
    "id": 7,
    "name": "Production Security Baseline",
    "description": "Comprehensive security policy for production certificates",
    "is_enabled": True,
    "matching_criteria": {
        "action": "certificate.generate",
        "domains": ["prod.example.com", "*.prod.example.com"],
    },
    "rules": [
        {"action": "enforce_minimum_key_size", "fail": "hard", "values": {"minimum_bits": 3072}},
        {"action": "disable_wildcard", "fail": "soft"},
        {"action": "require_san"},
    ],
    "created_at": "2026-03-25T10:00:00+00:00",
    "updated_at": "2026-03-25T10:00:00+00:00",
}


def test_policy_input_from_api_json() -> None:
    assert PolicyInput.from_json(API_POLICY) == PolicyInput(
        id=7,
        name="Production Security Baseline",
        is_enabled=True,
        action="certificate.generate",
        domains=("prod.example.com", "*.prod.example.com"),
        rules=(
            Rule("enforce_minimum_key_size", "hard", {"minimum_bits": "3072"}),
            Rule("disable_wildcard", "soft", {}),
            Rule("require_san", "hard", {}),
        ),
    )


def test_policy_input_from_an_inline_policy_without_id_is_disabled_by_default() -> None:
    body = {k: v for k, v in API_POLICY.items() if k not in ("id", "is_enabled")}
    policy = PolicyInput.from_json(body)
    assert (policy.id, policy.is_enabled) == (None, False)


def test_policy_input_from_invalid_json_raises_with_every_problem() -> None:
    with pytest.raises(InvalidPolicyError) as caught:
        PolicyInput.from_json({"name": "p", "rules": [{"action": "nope"}]})
    assert caught.value.problems == [
        ("matching_criteria", "is required"),
        ("rules[0].action", "unknown rule action 'nope'"),
    ]


def test_the_contract_dry_run_example() -> None:
    policy = PolicyInput.from_json(
        {
            **API_POLICY,
            "rules": [
                {
                    "action": "enforce_minimum_key_size",
                    "fail": "soft",
                    "values": {"minimum_bits": "3072"},
                },
                {
                    "action": "enforce_values",
                    "fail": "hard",
                    "values": {"organization": "Example Ltd"},
                },
            ],
        }
    )
    request = _request(key_size=2048, subject={"country": "NZ"})
    assert evaluate(request, [policy]).to_json() == {
        "result": "warn",
        "allowed": True,
        "matched_policies": [{"id": 7, "name": "Production Security Baseline"}],
        "violations": [
            {
                "policy": "Production Security Baseline",
                "rule": "enforce_minimum_key_size",
                "fail": "soft",
                "message": "RSA key 2048 bits is below the minimum of 3072",
            }
        ],
        "applied_values": {"organization": "Example Ltd"},
    }
