"""Characters no object name may hold: controls that forge lines, bidi controls that disguise,
characters that display as nothing; and when two names are one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certgov.rules import names
from certgov.rules.names import name_character_problem, name_key


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


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("rt-deploy\u200b", "must not hold the format or default-ignorable character U+200B"),
        ("\u00adci", "must not hold the format or default-ignorable character U+00AD"),
        ("ci\U000e0041", "must not hold the format or default-ignorable character U+E0041"),
        ("\u3164", "must not hold the format or default-ignorable character U+3164"),
        ("c\u034fi", "must not hold the format or default-ignorable character U+034F"),
        ("cafe\u0301", "must be in Unicode normalisation form NFC"),
        ("ci ", "must not begin or end with white space"),
        ("\u2003ci", "must not begin or end with white space"),
        (" ", "must not begin or end with white space"),
    ],
)
def test_invisible_characters_other_encodings_and_outer_space_are_refused(
    name: str, problem: str
) -> None:
    assert name_character_problem(name) == problem


def test_every_default_ignorable_code_point_is_refused_and_nothing_else_by_its_table() -> None:
    regex = pytest.importorskip("regex")  # knows the property; unicodedata does not
    every = "".join(map(chr, range(0x110000))).replace("\ud800", "")
    ignorable = {ord(c) for c in regex.findall(r"\p{Default_Ignorable_Code_Point}", every)}
    tabled = {cp for low, high in names._DEFAULT_IGNORABLE for cp in range(low, high + 1)}
    assert [cp for cp in sorted(ignorable) if name_character_problem(f"a{chr(cp)}b") is None] == []
    assert tabled <= ignorable


@given(st.text(st.characters(max_codepoint=0x7F)) | st.text(st.characters(max_codepoint=0x2100)))
def test_the_printable_ascii_shortcut_answers_as_the_checks_by_code_point(name: str) -> None:
    assert name_character_problem(name) == names.code_point_problem(name)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("rt-deploy", "RT-Deploy", True),
        ("rt-deploy", "\uff32\uff34\uff0d\uff24\uff25\uff30\uff2c\uff2f\uff39", True),
        ("straße", "STRASSE", True),
        ("ﬁle", "file", True),
        ("rt-deploy", "rt_deploy", False),
        ("rt-deploy", "rt\u2010deploy", False),
    ],
)
def test_names_equal_after_nfkc_case_folding_share_a_key(a: str, b: str, same: bool) -> None:
    assert (name_key(a) == name_key(b)) is same
