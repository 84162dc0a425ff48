"""The characters an object's name may not hold, for the server and the declarations alike.

A name ends up in terminal output, plan files, PR comments, logs and audit events. A control
character (a newline, an escape) can forge lines there; a bidirectional control (U+202E RIGHT-TO-
LEFT OVERRIDE and its kin) makes a name display as something else than it is ("Trojan Source",
CVE-2021-42574). Neither has a place in a name.
"""

from __future__ import annotations

import unicodedata

# Unicode's bidirectional formatting characters (UAX #9): embeddings, overrides, isolates and
# the implicit marks.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Control characters (C0, DEL, C1) and the line and paragraph separators, which break lines.
_LINE_BREAKING = ("Cc", "Zl", "Zp")


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
    """Why `name` may not be used, naming its first forbidden character; None when it may."""
    return control_character_problem(name)
