"""Policy test cases: each declared test's request and expectations, built from a policy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from certgov.errors import CertgovError, Position
from certgov.state import POLICY, Resource, api_body

# What a test's request may leave out: the policy's action, and a key, digest and validity that
# no rule of the catalogue refuses at its loosest.
REQUEST_DEFAULTS: Mapping[str, Any] = {
    "key": {"algorithm": "rsa", "size": 3072},
    "digest": "sha256",
    "validity_days": 90,
}


@dataclass(frozen=True)
class PolicyTestCase:
    policy: str
    name: str
    request: Mapping[str, Any]
    expect: str | None
    violations: tuple[str, ...] | None = None
    applied_values: Mapping[str, Any] | None = None
    source: Mapping[str, Any] | None = None
    probe: bool = False
    """A plain request for a policy that declares no test: it proves the server accepts the
    policy, and expects nothing of the result."""


def _position(source: Mapping[str, Any] | None) -> Position | None:
    if not source:
        return None
    return Position(str(source["file"]), int(source.get("line", 0)), int(source.get("col", 0)))


def probe_request(resource: Resource) -> dict[str, Any]:
    """A plain request for a policy without tests, built from its first domain."""
    criteria = resource.spec["matching_criteria"]
    first = criteria["domains"][0]
    name = "www." + first[2:] if first.startswith("*.") else first
    return {
        "action": criteria["action"],
        "common_name": name,
        "sans": {"dns": [name]},
        "key": {"algorithm": "rsa", "size": 3072},
        "digest": "sha256",
        "validity_days": 90,
    }


def cases_for(resource: Resource, *, root: Path | None = None) -> list[PolicyTestCase]:
    """The policy's declared tests, or one probe case (no expectation) when it has none."""
    if resource.kind != POLICY:
        return []
    declared: Sequence[Mapping[str, Any]] = resource.meta.get("tests") or ()
    if not declared:
        return [
            PolicyTestCase(
                resource.name, "dry-run probe", probe_request(resource), None, probe=True
            )
        ]
    cases = []
    action = resource.spec["matching_criteria"]["action"]
    for test in declared:
        request = dict(test.get("request") or {})
        request.setdefault("action", action)
        csr_file = test.get("csr_file")
        if not csr_file:
            for key, value in REQUEST_DEFAULTS.items():
                request.setdefault(key, value)
        if csr_file and "csr" not in request:
            path = Path(csr_file) if root is None else root / csr_file
            try:
                request["csr"] = path.read_text("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CertgovError(
                    f"{resource.address}: test {test['name']!r}: cannot read csr_file: {exc}",
                    position=_position(test.get("source")),
                ) from None
        if csr_file:
            request.setdefault("validity_days", 90)
        violations = test.get("violations")
        cases.append(
            PolicyTestCase(
                policy=resource.name,
                name=str(test["name"]),
                request=request,
                expect=test.get("expect"),
                violations=tuple(sorted(violations)) if violations is not None else None,
                applied_values=test.get("applied_values"),
                source=test.get("source"),
            )
        )
    return cases


def inline_body(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A policy spec as an inline dry-run body: what it will be once enabled."""
    return {**api_body(POLICY, spec), "is_enabled": True}
