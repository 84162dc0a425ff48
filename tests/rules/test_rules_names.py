"""Characters no object name may hold: controls that forge lines, bidi controls that disguise."""

from __future__ import annotations

import pytest

from certgov.rules.names import name_character_problem


@pytest.mark.parametrize(
    "name",
    ["ci", "Production Security Baseline", "bücher-Ω", "名前", "a\u00a0b", "team \U0001f680"],
)
def test_printable_names_are_accepted(name: str) -> None:
    assert name_character_problem(name) is None


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("ci\nadmin", "must not hold the control character U+000A"),
        ("ci\r", "must not hold the control character U+000D"),
        ("\tci", "must not hold the control character U+0009"),
        ("c\x00i", "must not hold the control character U+0000"),
        ("ci\x1b[31m", "must not hold the control character U+001B"),
        ("ci\x7f", "must not hold the control character U+007F"),
        ("ci\x85", "must not hold the control character U+0085"),
        ("ci\u2028x", "must not hold the control character U+2028"),
        ("ci\u2029x", "must not hold the control character U+2029"),
        ("admin\u202egnp.exe", "must not hold the bidirectional control character U+202E"),
        ("a\u202ab", "must not hold the bidirectional control character U+202A"),
        ("a\u2066b\u2069", "must not hold the bidirectional control character U+2066"),
        ("a\u200fb", "must not hold the bidirectional control character U+200F"),
        ("a\u061cb", "must not hold the bidirectional control character U+061C"),
    ],
)
def test_control_and_bidi_characters_are_refused_by_code_point(name: str, problem: str) -> None:
    assert name_character_problem(name) == problem
