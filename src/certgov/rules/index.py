"""Policies indexed by the names their domain patterns match, so that evaluating a request reads
only the policies that can apply to it, however many there are.

A pattern matches a name exactly, or, as `*.base`, `base` itself and every name that ends in
`.base`, both compared normalised (`domains.name_matches`). So the patterns that can match a
normalised name `n` are the exact pattern `n` and the wildcards whose base is `n` or a suffix of
`n` that follows one of its dots (`a.b.example.com`: `b.example.com`, `example.com`, `com`): one
dictionary look-up per label of the name. The keys are the normalised strings themselves rather
than a trie of reversed labels, which would make the same look-ups with a tree to walk.

The index only narrows: `engine.evaluate` still decides with `PolicyInput.applies_to` (enabled,
action, `matches_any`) which of the candidates apply, so a result is the one that evaluating
every policy would give.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from certgov.rules.domains import normalise_name, normalise_pattern
from certgov.rules.engine import PolicyInput

WILDCARD_PREFIX = "*."


def _bases(name: str) -> Iterator[str]:
    """`name` and each suffix of it that follows a dot: every wildcard base that covers it."""
    yield name
    dot = name.find(".")
    while dot != -1:
        yield name[dot + 1 :]
        dot = name.find(".", dot + 1)


class PolicyIndex:
    """Policies by the normalised names of their exact patterns and the bases of their wildcards.

    Immutable once built, so that threads can share it.
    """

    def __init__(self, policies: Iterable[PolicyInput]) -> None:
        self.policies = tuple(policies)
        exact: dict[str, set[int]] = {}
        wildcard: dict[str, set[int]] = {}
        for position, policy in enumerate(self.policies):
            for pattern in policy.domains:
                key = normalise_pattern(pattern)
                if key.startswith(WILDCARD_PREFIX):
                    wildcard.setdefault(key.removeprefix(WILDCARD_PREFIX), set()).add(position)
                else:
                    exact.setdefault(key, set()).add(position)
        self._exact = {k: frozenset(v) for k, v in exact.items()}
        self._wildcard = {k: frozenset(v) for k, v in wildcard.items()}

    def __len__(self) -> int:
        return len(self.policies)

    def candidates(self, names: Iterable[str]) -> list[PolicyInput]:
        """Each policy with a pattern that matches one of `names`, once, in the order the index
        was given them: the policies that can apply to a request for these names."""
        found: set[int] = set()
        for name in names:
            normalised = normalise_name(name)
            found.update(self._exact.get(normalised, ()))
            for base in _bases(normalised):
                found.update(self._wildcard.get(base, ()))
        return [self.policies[position] for position in sorted(found)]
