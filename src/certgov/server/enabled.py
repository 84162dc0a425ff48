"""The enabled policies as issuance and the dry run evaluate them (contract §4.3, §5.3): indexed by
domain (`certgov.rules.index`), built once and kept until the store's policy version moves.

Every policy change moves the version in its own transaction (`store.policies`), and the version
is read in the transaction that evaluates, so a server sees a change made through any server on
the same database at its next evaluation. The index only narrows the policies handed to
`evaluate`, which still matches each of them: the result is the one of evaluating them all.
"""

from __future__ import annotations

import threading

from certgov.rules.engine import PolicyInput
from certgov.rules.index import PolicyIndex
from certgov.rules.request import CertRequest
from certgov.server.store import Tx


def build_index(tx: Tx) -> PolicyIndex:
    """Every enabled policy, as the rule engine takes them, indexed by domain."""
    return PolicyIndex(PolicyInput.from_stored(p) for p in tx.policies.enabled())


class EnabledPolicies:
    """One server's index of the enabled policies and the policy version it was built at."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: tuple[int, PolicyIndex] | None = None

    def candidates(self, tx: Tx, request: CertRequest) -> list[PolicyInput]:
        """The enabled policies that can apply to `request`, as `tx` sees the policies."""
        return self.index(tx).candidates(request.names)

    def index(self, tx: Tx) -> PolicyIndex:
        """The index at the version `tx` reads, rebuilt when that is not the one kept.

        The version is read before the policies: where each statement sees the latest commits
        (PostgreSQL's read committed), an index may hold policies newer than its version, never
        older; the next evaluation then reads the newer version and rebuilds.
        """
        version = tx.policies.version()
        if version is None:
            return build_index(tx)
        built = self._built
        if built is None or built[0] != version:
            # One rebuild at a time: the requests that queue behind it take its result.
            with self._lock:
                built = self._built
                if built is None or built[0] != version:
                    built = (version, build_index(tx))
                    self._built = built
        return built[1]
