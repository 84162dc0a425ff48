"""The policy index: it hands `evaluate` exactly the policies whose patterns match, so that a
result is the one of evaluating every policy."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certgov.rules.domains import matches_any
from certgov.rules.engine import PolicyInput, Rule, evaluate
from certgov.rules.index import PolicyIndex
from tests.rules.test_rules_domains import MATCH_TABLE
from tests.rules.test_rules_engine import BASE

SOFT_CA = Rule("block_ca_flag", "soft", {})
HARD_KEY = Rule("enforce_minimum_key_size", "hard", {"minimum_bits": "4096"})


def _policy(
    name: str,
    *domains: str,
    id: int | None = None,
    action: str = "certificate.generate",
    enabled: bool = True,
    rules: tuple[Rule, ...] = (SOFT_CA,),
) -> PolicyInput:
    return PolicyInput(id, name, enabled, action, tuple(domains), rules)


def _names(found: list[PolicyInput]) -> list[str]:
    return [p.name for p in found]


@pytest.mark.parametrize(("pattern", "name", "expected"), MATCH_TABLE)
def test_the_index_agrees_with_the_matcher_table(pattern: str, name: str, expected: bool) -> None:
    index = PolicyIndex([_policy("p", pattern)])
    assert _names(index.candidates([name])) == (["p"] if expected else [])


def test_an_exact_pattern_is_found_by_its_name_only() -> None:
    index = PolicyIndex([_policy("api", "api.example.com")])
    assert _names(index.candidates(["api.example.com"])) == ["api"]
    assert index.candidates(["www.api.example.com"]) == []
    assert index.candidates(["example.com"]) == []


def test_a_wildcard_is_found_by_its_base_and_every_name_below_it() -> None:
    index = PolicyIndex([_policy("wild", "*.example.com")])
    for name in ("example.com", "api.example.com", "a.b.c.example.com", "*.api.example.com"):
        assert _names(index.candidates([name])) == ["wild"], name
    assert index.candidates(["notexample.com"]) == []
    assert index.candidates(["example.com.evil.org"]) == []


def test_nested_suffixes_find_every_wildcard_above_a_name() -> None:
    index = PolicyIndex(
        [
            _policy("zone", "*.example.com"),
            _policy("prod", "*.prod.example.com"),
            _policy("api", "api.prod.example.com"),
            _policy("staging", "*.staging.example.com"),
            _policy("other", "*.example.org"),
        ]
    )
    assert _names(index.candidates(["api.prod.example.com"])) == ["zone", "prod", "api"]
    assert _names(index.candidates(["db.prod.example.com"])) == ["zone", "prod"]
    assert _names(index.candidates(["x.staging.example.com"])) == ["zone", "staging"]
    assert _names(index.candidates(["example.com"])) == ["zone"]


def test_case_a_trailing_dot_and_idns_are_compared_normalised() -> None:
    index = PolicyIndex(
        [_policy("upper", "*.Prod.EXAMPLE.com."), _policy("idn", "*.bücher.example")]
    )
    assert _names(index.candidates(["API.prod.example.COM."])) == ["upper"]
    assert _names(index.candidates(["Shop.XN--BCHER-KVA.example"])) == ["idn"]
    assert _names(index.candidates(["shop.BÜCHER.example"])) == ["idn"]


def test_no_match_finds_nothing() -> None:
    index = PolicyIndex([_policy("a", "a.example.com", "*.b.example.com")])
    assert index.candidates(["c.example.com", "example.net"]) == []
    assert index.candidates([]) == []
    assert PolicyIndex([]).candidates(["a.example.com"]) == []


def test_a_policy_with_many_domains_is_a_candidate_once() -> None:
    domains = [f"host{i}.example.com" for i in range(500)] + ["*.zone.example.com"]
    index = PolicyIndex([_policy("many", *domains), _policy("few", "host7.example.com")])
    names = ["host3.example.com", "host499.example.com", "a.zone.example.com", "host7.example.com"]
    assert _names(index.candidates(names)) == ["many", "few"]
    assert len(index) == 2


def test_candidates_keep_the_order_the_index_was_given() -> None:
    policies = [_policy(name, "*.example.com") for name in ("c", "a", "b")]
    assert _names(PolicyIndex(policies).candidates(["x.example.com"])) == ["c", "a", "b"]


def test_action_and_enabled_are_left_to_evaluate() -> None:
    renew = _policy("renew", "*.prod.example.com", action="certificate.renew")
    disabled = _policy("off", "*.prod.example.com", enabled=False)
    found = PolicyIndex([renew, disabled]).candidates(BASE.names)
    assert _names(found) == ["renew", "off"]
    assert evaluate(BASE, found).matched_policies == []


# Small alphabets, so that patterns and names often share labels.
_LABEL = st.sampled_from(["a", "b", "example", "com", "Prod", "bücher", "xn--bcher-kva"])
_HOST = st.lists(_LABEL, min_size=1, max_size=4).map(".".join)
_PATTERN = st.one_of(_HOST, _HOST.map(lambda h: "*." + h), _HOST.map(lambda h: h.upper() + "."))
_NAME = st.one_of(_HOST, _HOST.map(lambda h: "*." + h), _HOST.map(lambda h: h + "."))


@given(st.lists(st.lists(_PATTERN, min_size=1, max_size=4), max_size=8), st.lists(_NAME))
def test_candidates_are_exactly_the_policies_whose_patterns_match(
    domain_lists: list[list[str]], names: list[str]
) -> None:
    policies = [_policy(f"p{i}", *domains) for i, domains in enumerate(domain_lists)]
    expected = [p.name for p in policies if matches_any(p.domains, names)]
    assert _names(PolicyIndex(policies).candidates(names)) == expected


@given(
    st.lists(
        st.tuples(
            st.lists(_PATTERN, min_size=1, max_size=3),
            st.sampled_from(["certificate.generate", "certificate.renew"]),
            st.booleans(),
            st.sampled_from([(SOFT_CA,), (HARD_KEY,), (SOFT_CA, HARD_KEY)]),
        ),
        max_size=8,
    ),
    st.lists(_HOST, min_size=1, max_size=3),
)
def test_evaluating_the_candidates_answers_as_evaluating_every_policy(
    specs: list[tuple[list[str], str, bool, tuple[Rule, ...]]], names: list[str]
) -> None:
    policies = [
        _policy(f"p{i % 3}", *domains, id=i, action=action, enabled=enabled, rules=rules)
        for i, (domains, action, enabled, rules) in enumerate(specs)
    ]
    request = dataclasses.replace(
        BASE, common_name=names[0], dns_sans=tuple(names), is_ca=True, key_size=2048
    )
    narrowed = PolicyIndex(policies).candidates(request.names)
    assert evaluate(request, narrowed) == evaluate(request, policies)
