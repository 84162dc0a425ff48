"""Domain patterns and names (contract §4.1): the matcher table, pattern validation, properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certgov.rules.domains import (
    is_public_suffix,
    is_strict_subdomain,
    is_wildcard,
    matches_any,
    name_matches,
    name_problems,
    normalise_name,
    normalise_pattern,
    pattern_problems,
)

# (pattern, name, expected): exact names, wildcards over the apex and every depth, case, one
# trailing dot on either side, IDNs in Unicode and xn-- form, and the near misses.
MATCH_TABLE = [
    ("example.com", "example.com", True),
    ("example.com", "EXAMPLE.COM", True),
    ("EXAMPLE.com", "example.COM", True),
    ("example.com", "example.com.", True),
    ("example.com.", "example.com", True),
    ("example.com.", "example.com.", True),
    ("example.com", "www.example.com", False),
    ("www.example.com", "example.com", False),
    ("example.com", "example.org", False),
    ("example.com", "notexample.com", False),
    ("example.com", "example.com..", False),
    ("*.example.com", "example.com", True),
    ("*.example.com", "www.example.com", True),
    ("*.example.com", "a.b.example.com", True),
    ("*.example.com", "a.b.c.d.example.com", True),
    ("*.example.com", "API.Prod.Example.Com", True),
    ("*.example.com", "api.prod.example.com.", True),
    ("*.example.com.", "www.example.com", True),
    ("*.EXAMPLE.COM", "www.example.com", True),
    ("*.example.com", "*.example.com", True),
    ("*.example.com", "*.api.example.com", True),
    ("*.example.com", "notexample.com", False),
    ("*.example.com", "www.notexample.com", False),
    ("*.example.com", "example.com.evil.org", False),
    ("*.example.com", "com", False),
    ("*.example.com", "example.org", False),
    ("*.prod.example.com", "prod.example.com", True),
    ("*.prod.example.com", "api.prod.example.com", True),
    ("*.prod.example.com", "example.com", False),
    ("*.prod.example.com", "api.staging.example.com", False),
    ("*.prod.example.com", "preprod.example.com", False),
    ("bücher.example", "xn--bcher-kva.example", True),
    ("xn--bcher-kva.example", "bücher.example", True),
    ("BÜCHER.example", "bücher.example", True),
    ("bücher.example", "BÜCHER.EXAMPLE.", True),
    ("*.bücher.example", "shop.xn--bcher-kva.example", True),
    ("*.xn--bcher-kva.example", "Shop.Bücher.Example", True),
    ("*.xn--bcher-kva.example", "xn--bcher-kva.example", True),
    ("bücher.example", "bucher.example", False),
    ("*.bücher.example", "shop.bucher.example", False),
    ("münchen.de", "xn--mnchen-3ya.de", True),
    ("*.münchen.de", "stadt.MÜNCHEN.de.", True),
    ("straße.example", "xn--strae-oqa.example", True),
    ("straße.example", "strasse.example", False),
    ("例え.テスト", "xn--r8jz45g.xn--zckzah", True),
    ("*.例え.テスト", "www.xn--r8jz45g.xn--zckzah", True),
]


@pytest.mark.parametrize(("pattern", "name", "expected"), MATCH_TABLE)
def test_name_matches_table(pattern: str, name: str, expected: bool) -> None:
    assert name_matches(pattern, name) is expected


def test_matcher_table_has_at_least_forty_cases() -> None:
    assert len(MATCH_TABLE) >= 40


def test_matches_any_is_true_when_one_name_matches_one_pattern() -> None:
    assert matches_any(["a.example.com", "*.prod.example.com"], ["x.org", "api.prod.example.com"])


def test_matches_any_is_false_when_nothing_matches() -> None:
    assert not matches_any(["a.example.com", "*.prod.example.com"], ["x.org", "b.example.com"])


def test_matches_any_accepts_one_shot_iterables() -> None:
    patterns = (p for p in ["*.example.com"])
    assert matches_any(patterns, iter(["x.org", "a.example.com"]))


def test_matches_any_with_no_names_is_false() -> None:
    assert not matches_any(["*.example.com"], [])


PATTERN_TABLE = [
    ("example.com", []),
    ("*.example.com", []),
    ("*.shop.example", []),
    ("*.prod.example.com.", []),
    ("bücher.example", []),
    ("*.xn--bcher-kva.example", []),
    ("ab--cd.example.com", []),
    ("localhost", []),
    ("*", ["'*' alone would match every name; use '*.' followed by a domain"]),
    (
        "*.com",
        ["'*.com' covers the public suffix 'com': a wildcard needs a registrable domain below it"],
    ),
    (
        "*.co.uk",
        [
            "'*.co.uk' covers the public suffix 'co.uk':"
            " a wildcard needs a registrable domain below it"
        ],
    ),
    (
        "*.example",
        [
            "'*.example' covers the public suffix 'example':"
            " a wildcard needs a registrable domain below it"
        ],
    ),
    (
        "*.CO.UK.",
        [
            "'*.CO.UK' covers the public suffix 'co.uk':"
            " a wildcard needs a registrable domain below it"
        ],
    ),
    ("f*.example.com", ["label 'f*' holds '*': a wildcard must be the whole left-most label"]),
    ("a.*.example.com", ["'*' is allowed only as the whole left-most label, not as label 2"]),
    ("*.*.example.com", ["'*' is allowed only as the whole left-most label, not as label 2"]),
    ("example.*", ["'*' is allowed only as the whole left-most label, not as label 2"]),
    ("", ["must not be empty"]),
    (".", ["must not contain empty labels (as in 'a..b', '.a' or 'a..')"]),
    ("a..example.com", ["must not contain empty labels (as in 'a..b', '.a' or 'a..')"]),
    (".example.com", ["must not contain empty labels (as in 'a..b', '.a' or 'a..')"]),
    ("example.com..", ["must not contain empty labels (as in 'a..b', '.a' or 'a..')"]),
    ("*.", ["'*' alone would match every name; use '*.' followed by a domain"]),
    ("*..", ["must not contain empty labels (as in 'a..b', '.a' or 'a..')"]),
    (
        "a" * 64 + ".example.com",
        ["label '" + "a" * 64 + "' is 64 characters long; the maximum is 63"],
    ),
    (".".join(["a" * 63] * 4), ["is 255 characters long in its ASCII form; the maximum is 253"]),
    (" example.com", ["must not contain white space"]),
    ("exa mple.com", ["must not contain white space"]),
    (
        "under_score.example.com",
        [
            "label 'under_score' may hold only letters, digits and inner hyphens"
            " (no leading or trailing hyphen)"
        ],
    ),
    (
        "-lead.example.com",
        [
            "label '-lead' may hold only letters, digits and inner hyphens"
            " (no leading or trailing hyphen)"
        ],
    ),
    (
        "xn--zz.example",
        ["label 'xn--zz' is not a valid IDNA 2008 label (Invalid A-label)"],
    ),
    (
        "ä-.example",
        ["label 'ä-' is not a valid IDNA 2008 label (Label must not start or end with a hyphen)"],
    ),
    ("a\uff0eb.example", ["label 'a\uff0eb' holds a character that maps to '.'"]),
    ("192.168.1.1", ["top-level label '1' must not be all digits"]),
]


@pytest.mark.parametrize(("pattern", "expected"), PATTERN_TABLE)
def test_pattern_problems_table(pattern: str, expected: list[str]) -> None:
    assert pattern_problems(pattern) == expected


def test_a_long_idn_label_is_measured_in_its_ascii_form() -> None:
    label = "ü" * 60  # 60 characters in Unicode, longer than 63 in xn-- form
    assert pattern_problems(label + ".example") == [
        f"label '{label}' is not a valid IDNA 2008 label (Label too long)"
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("api.example.com", []),
        ("*.example.com", []),
        ("*", ["label '*' holds '*', which is not allowed here"]),
        ("a.*.example.com", ["label '*' holds '*', which is not allowed here"]),
        ("f*.example.com", ["label 'f*' holds '*', which is not allowed here"]),
        ("a..b", ["must not contain empty labels (as in 'a..b', '.a' or 'a..')"]),
    ],
)
def test_name_problems_with_wildcards_allowed(name: str, expected: list[str]) -> None:
    assert name_problems(name, allow_wildcard=True) == expected


def test_name_problems_refuses_a_wildcard_unless_allowed() -> None:
    assert name_problems("*.example.com") == ["label '*' holds '*', which is not allowed here"]


def test_name_problems_makes_no_public_suffix_check() -> None:
    assert name_problems("co.uk") == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [("com", True), ("co.uk", True), ("example", True), ("example.com", False)],
)
def test_is_public_suffix(name: str, expected: bool) -> None:
    assert is_public_suffix(name) is expected


@pytest.mark.parametrize(
    ("name", "parent", "expected"),
    [
        ("api.example.com", "example.com", True),
        ("a.b.example.com", "example.com", True),
        ("example.com", "example.com", False),
        ("notexample.com", "example.com", False),
        ("API.Example.com.", "example.COM", True),
    ],
)
def test_is_strict_subdomain(name: str, parent: str, expected: bool) -> None:
    assert is_strict_subdomain(name, parent) is expected


def test_is_wildcard() -> None:
    assert [is_wildcard(n) for n in ["*.example.com", "f*.example.com", "example.com"]] == [
        True,
        True,
        False,
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Example.COM.", "example.com"),
        ("Bücher.Example", "xn--bcher-kva.example"),
        ("*.Bücher.example.", "*.xn--bcher-kva.example"),
        ("a_ä-.example", "a_ä-.example"),
    ],
)
def test_normalise_pattern(raw: str, expected: str) -> None:
    assert normalise_pattern(raw) == expected


# Labels as people write them: ASCII letters of both cases, digits, inner hyphens, and a few
# letters that need IDNA.
_LABEL = st.from_regex(
    r"[a-zA-Z0-9äöüÄÖÜéñ](?:[a-zA-Z0-9äöüÄÖÜéñ-]{0,10}[a-zA-Z0-9äöüéñ])?", fullmatch=True
)
_NAME = st.lists(_LABEL, min_size=1, max_size=5).map(".".join)


@given(_NAME)
def test_normalise_name_is_idempotent(name: str) -> None:
    once = normalise_name(name)
    assert normalise_name(once) == once


@given(_NAME, st.lists(st.booleans(), min_size=1, max_size=80), st.booleans())
def test_matching_is_invariant_under_case_and_one_trailing_dot(
    name: str, upper: list[bool], dot: bool
) -> None:
    varied = "".join(
        c.upper() if upper[i % len(upper)] else c.lower() for i, c in enumerate(name)
    ) + ("." if dot else "")
    assert name_matches(name, varied)
    assert name_matches("*." + name, "sub." + varied)


@given(_NAME, _NAME)
def test_wildcard_matches_exactly_the_base_and_names_ending_in_dot_base(
    base: str, name: str
) -> None:
    b = normalise_name(base)
    n = normalise_name(name)
    assert name_matches("*." + base, name) is (n == b or n.endswith("." + b))
