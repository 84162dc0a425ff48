"""The characters an object's name may not hold, for the server and the declarations alike, and
when two names are the same name (contract §1).

A name ends up in terminal output, plan files, PR comments, logs and audit events. A control
character (a newline, an escape) can forge lines there; a bidirectional control (U+202E RIGHT-TO-
LEFT OVERRIDE and its kin) makes a name display as something else than it is ("Trojan Source",
CVE-2021-42574). Neither has a place in a name. Nor has a character that displays as nothing (a
format or other default-ignorable character: U+200B ZERO WIDTH SPACE, U+00AD SOFT HYPHEN, the tag
characters, U+3164 HANGUL FILLER ...), leading or trailing white space, or a second encoding of
the same text (names are NFC): each lets two names that read alike be two accounts or policies.
Names that differ only in case or compatibility forms (`RT-Deploy`, its fullwidth letters) are
one name: `name_key` is what makes them equal.
"""

from __future__ import annotations

import hashlib
import unicodedata

# Unicode's bidirectional formatting characters (UAX #9): embeddings, overrides, isolates and
# the implicit marks.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Control characters (C0, DEL, C1) and the line and paragraph separators, which break lines.
_LINE_BREAKING = ("Cc", "Zl", "Zp")
# Default_Ignorable_Code_Point of Unicode's DerivedCoreProperties.txt (unchanged from 6.0 to 15.1)
# that are not format characters (Cf) already: combining grapheme joiner, Hangul fillers,
# Khmer inherent vowels, Mongolian variation selectors, variation selectors, reserved ranges.
_DEFAULT_IGNORABLE = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0xE0000, 0xE0FFF),
)


def _invisible(char: str) -> bool:
    """A format character (Cf) or another default-ignorable code point: displayed as nothing."""
    code = ord(char)
    return unicodedata.category(char) == "Cf" or any(a <= code <= b for a, b in _DEFAULT_IGNORABLE)


def control_character_problem(text: str) -> str | None:
    """The first control or bidirectional control character of `text`, as a problem; None when
    it holds none. What a name in a certificate request may not hold either."""
    for char in text:
        if char in BIDI_CONTROLS:
            return f"must not hold the bidirectional control character U+{ord(char):04X}"
        if unicodedata.category(char) in _LINE_BREAKING:
            return f"must not hold the control character U+{ord(char):04X}"
    return None


def name_character_problem(name: str) -> str | None:
    """Why `name` may not be an object's name, naming its first forbidden character; None when
    it may."""
    if name.isascii() and name.isprintable():
        # U+0020 to U+007E: no control, bidirectional, format or default-ignorable character,
        # and NFC already; only the white space at either end is left to check. Most names are
        # such, and the character-by-character checks cost thousands of names a fifth of a
        # second.
        return "must not begin or end with white space" if name != name.strip() else None
    return code_point_problem(name)


def code_point_problem(name: str) -> str | None:
    """The checks of `name_character_problem`, one character at a time, for any name."""
    problem = control_character_problem(name)
    if problem is not None:
        return problem
    for char in name:
        if _invisible(char):
            return f"must not hold the format or default-ignorable character U+{ord(char):04X}"
    if not unicodedata.is_normalized("NFC", name):
        return "must be in Unicode normalisation form NFC"
    if name != name.strip():
        return "must not begin or end with white space"
    return None


def name_key(name: str) -> str:
    """The key under which names are unique: two names are the same name when their NFKC case
    folds are equal. A SHA-256 digest, so that it has a fixed length (a fold can be many times
    longer than the name) and fits a unique index on any database."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return hashlib.sha256(folded.encode()).hexdigest()
