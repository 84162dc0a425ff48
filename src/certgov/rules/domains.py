"""Domain names and patterns (contract §4.1): normalisation, validation and matching. No I/O.

The public-suffix check reads the Public Suffix List snapshot bundled with the `publicsuffixlist`
package (once, on first use); it never fetches the list from the network.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache, lru_cache

import idna
from publicsuffixlist import PublicSuffixList

MAX_NAME_LENGTH = 253
MAX_LABEL_LENGTH = 63
WILDCARD_LABEL = "*"

# A host-name label (RFC 1123): letters, digits and inner hyphens.
_LDH_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_ACE_PREFIX = "xn--"


@lru_cache(maxsize=1 << 16)
def normalise_name(name: str) -> str:
    """Lower-case, one trailing dot dropped, IDNs in their `xn--` form.

    Names that IDNA 2008 refuses are returned lower-cased as they are, so that validation (not
    normalisation) is where they are reported. Cached: matching compares the same patterns and
    names again and again (a back-test, every request against two versions of a policy).
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


@cache
def _suffix_list() -> PublicSuffixList:
    # The bundled snapshot: PublicSuffixList() with no source reads the file shipped in the wheel.
    return PublicSuffixList()


def is_public_suffix(name: str) -> bool:
    """Whether `name` (normalised) is a public suffix, the list's default `*` rule included.

    Both sections of the list count, so `github.io` is a suffix as well as `co.uk`: a wildcard
    over either would cover names that many unrelated owners register.
    """
    return bool(_suffix_list().is_public(normalise_name(name)))


def _label_problems(label: str) -> list[str]:
    """Why one label (not `*`, not empty) cannot be part of a host name; ASCII form checked."""
    if not label.isascii() or label.lower().startswith(_ACE_PREFIX):
        try:
            ascii_label = idna.encode(label, uts46=True).decode("ascii")
            idna.decode(ascii_label)
        except idna.IDNAError as exc:
            return [f"label '{label}' is not a valid IDNA 2008 label ({exc})"]
        if "." in ascii_label:
            # UTS 46 maps full-width and ideographic full stops to '.': one label became two.
            return [f"label '{label}' holds a character that maps to '.'"]
    else:
        ascii_label = label.lower()
        if not _LDH_LABEL.fullmatch(ascii_label):
            return [
                f"label '{label}' may hold only letters, digits and inner hyphens"
                " (no leading or trailing hyphen)"
            ]
    if len(ascii_label) > MAX_LABEL_LENGTH:
        return [
            f"label '{label}' is {len(ascii_label)} characters long;"
            f" the maximum is {MAX_LABEL_LENGTH}"
        ]
    return []


def _split(text: str) -> tuple[list[str], list[str]]:
    """Labels of a name with its one optional trailing dot removed, and the problems seen so far."""
    if text == "":
        return [], ["must not be empty"]
    if text != text.strip() or any(c.isspace() for c in text):
        return [], ["must not contain white space"]
    body = text[:-1] if text.endswith(".") else text
    labels = body.split(".")
    if any(label == "" for label in labels):
        return labels, ["must not contain empty labels (as in 'a..b', '.a' or 'a..')"]
    return labels, []


def _host_problems(labels: list[str]) -> list[str]:
    problems: list[str] = []
    for label in labels:
        problems.extend(_label_problems(label))
    if problems:
        return problems
    ascii_name = normalise_name(".".join(labels))
    if len(ascii_name) > MAX_NAME_LENGTH:
        problems.append(
            f"is {len(ascii_name)} characters long in its ASCII form;"
            f" the maximum is {MAX_NAME_LENGTH}"
        )
    if labels[-1].isdigit():
        problems.append(f"top-level label '{labels[-1]}' must not be all digits")
    return problems


def name_problems(name: str, *, allow_wildcard: bool = False) -> list[str]:
    """Every reason `name` is not a valid DNS host name (IDNs allowed, one trailing dot allowed).

    With `allow_wildcard`, a left-most `*` label is accepted, as in a certificate's wildcard
    name; no public-suffix check is made (that is for policy patterns).
    """
    labels, problems = _split(name)
    if problems:
        return problems
    if allow_wildcard and labels[0] == WILDCARD_LABEL and len(labels) > 1:
        labels = labels[1:]
    for label in labels:
        if WILDCARD_LABEL in label:
            return [f"label '{label}' holds '*', which is not allowed here"]
    return _host_problems(labels)


def pattern_problems(pattern: str) -> list[str]:
    """Every reason `pattern` is not a valid domain pattern of contract §4.1.

    A pattern is a host name, or `*.` followed by a host name that is not a public suffix.
    """
    labels, problems = _split(pattern)
    if problems:
        return problems
    if labels == [WILDCARD_LABEL]:
        return ["'*' alone would match every name; use '*.' followed by a domain"]
    wildcard = labels[0] == WILDCARD_LABEL
    rest = labels[1:] if wildcard else labels
    for index, label in enumerate(rest, start=1 if wildcard else 0):
        if label == WILDCARD_LABEL:
            return [f"'*' is allowed only as the whole left-most label, not as label {index + 1}"]
        if WILDCARD_LABEL in label:
            return [f"label '{label}' holds '*': a wildcard must be the whole left-most label"]
    problems = _host_problems(rest)
    if problems:
        return problems
    base = ".".join(rest)
    if wildcard and is_public_suffix(base):
        return [
            f"'*.{base}' covers the public suffix '{normalise_name(base)}':"
            " a wildcard needs a registrable domain below it"
        ]
    return []


def is_wildcard(name: str) -> bool:
    """Whether a requested name is a wildcard name (holds `*` anywhere)."""
    return WILDCARD_LABEL in name


def name_matches(pattern: str, name: str) -> bool:
    """Whether `name` matches `pattern`: exactly, or `*.base` for `base` and every subdomain."""
    p = normalise_pattern(pattern)
    n = normalise_name(name)
    if p.startswith("*."):
        base = p[2:]
        return n == base or n.endswith("." + base)
    return n == p


def matches_any(patterns: Iterable[str], names: Iterable[str]) -> bool:
    """Whether any of `names` matches any of `patterns`."""
    pattern_list = list(patterns)
    return any(name_matches(p, n) for n in names for p in pattern_list)


def is_strict_subdomain(name: str, parent: str) -> bool:
    """Whether `name` lies strictly below `parent` (`a.example.com` below `example.com`)."""
    return normalise_name(name).endswith("." + normalise_name(parent))
