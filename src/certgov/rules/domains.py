"""Domain names and patterns (contract §4.1): normalisation. No I/O."""

from __future__ import annotations

import idna


def normalise_name(name: str) -> str:
    """Lower-case, one trailing dot dropped, IDNs in their `xn--` form.

    Names that IDNA 2008 refuses are returned lower-cased as they are, so that validation (not
    normalisation) is where they are reported.
    """
    text = name.strip().lower()
    if text.endswith("."):
        text = text[:-1]
    labels = text.split(".")
    out = []
    for label in labels:
        if label == "*" or label.isascii():
            out.append(label)
            continue
        try:
            out.append(idna.encode(label, uts46=True).decode("ascii"))
        except idna.IDNAError:
            out.append(label)
    return ".".join(out)


def normalise_pattern(pattern: str) -> str:
    """A pattern is normalised as a name; its `*` label is kept."""
    return normalise_name(pattern)
