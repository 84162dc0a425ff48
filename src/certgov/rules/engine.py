"""The rule engine of contract §4.2 and §4.3: one check per catalogue rule, the merge, `evaluate`.

Pure: a request and the policies come in as values, an `Evaluation` goes out. The server's
validate endpoint and certificate requests, and the reconciler's offline policy tests, all call
`evaluate`, so they cannot disagree about a result.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from certgov.rules.catalogue import BY_ACTION, SUBJECT_FIELDS
from certgov.rules.domains import (
    is_strict_subdomain,
    is_wildcard,
    matches_any,
    name_matches,
    normalise_name,
)
from certgov.rules.request import CertRequest
from certgov.rules.validation import (
    DEFAULT_FAIL,
    InvalidPolicyError,
    normalise_policy_values,
    policy_problems,
)

Values = Mapping[str, Any]

# RSA-equivalent strength of the NIST curves, NIST SP 800-57 Part 1 Table 2 (§4.2 [decided]).
ECDSA_RSA_EQUIVALENT = {256: 3072, 384: 7680, 521: 15360}
PASS, WARN, BLOCK = "pass", "warn", "block"


class Rule(NamedTuple):
    """One rule of a policy: (action, fail, values), values normalised as the API answers them."""

    action: str
    fail: str
    values: Values


@dataclass(frozen=True)
class PolicyInput:
    """What the engine needs of a policy."""

    id: int | None
    name: str
    is_enabled: bool
    action: str
    domains: tuple[str, ...]
    rules: tuple[Rule, ...]

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> PolicyInput:
        """From the API's policy object (or a create body); raises InvalidPolicyError if invalid."""
        problems = policy_problems(obj)
        if problems:
            raise InvalidPolicyError(problems)
        return cls.from_stored(obj)

    @classmethod
    def from_stored(cls, obj: Mapping[str, Any]) -> PolicyInput:
        """From a policy that was validated when it was stored: no second validation, which
        would otherwise dominate every dry run over many enabled policies."""
        criteria = obj["matching_criteria"]
        return cls(
            id=obj.get("id"),
            name=obj["name"],
            is_enabled=bool(obj.get("is_enabled", False)),
            action=criteria["action"],
            domains=tuple(criteria["domains"]),
            rules=tuple(
                Rule(
                    rule["action"],
                    rule.get("fail", DEFAULT_FAIL),
                    normalise_policy_values(rule.get("values")),
                )
                for rule in obj["rules"]
            ),
        )

    def applies_to(self, request: CertRequest, *, ignore_enabled: bool = False) -> bool:
        """Enabled (unless ignored), same action, and any request name matches any pattern."""
        return (
            (self.is_enabled or ignore_enabled)
            and self.action == request.action
            and matches_any(self.domains, request.names)
        )


@dataclass(frozen=True)
class Evaluation:
    """The outcome of evaluating a request: exactly the `data` of the §4.3 dry-run answer."""

    result: str
    allowed: bool
    matched_policies: list[dict[str, Any]] = field(default_factory=list)
    violations: list[dict[str, str]] = field(default_factory=list)
    applied_values: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "allowed": self.allowed,
            "matched_policies": [dict(p) for p in self.matched_policies],
            "violations": [dict(v) for v in self.violations],
            "applied_values": dict(self.applied_values),
        }


@dataclass(frozen=True)
class Outcome:
    """What one rule found: failure messages (none: passed) and subject fields it filled."""

    messages: tuple[str, ...] = ()
    applied: Mapping[str, str] = field(default_factory=dict)


Check = Callable[[CertRequest, Values, PolicyInput], Outcome]


def _fail(*messages: str) -> Outcome:
    return Outcome(tuple(messages))


def _listing(items: Sequence[str]) -> str:
    return ", ".join(items)


def _plural(items: Sequence[str], one: str, many: str) -> str:
    return one if len(items) == 1 else many


def check_enforce_values(request: CertRequest, values: Values, policy: PolicyInput) -> Outcome:
    applied: dict[str, str] = {}
    messages = []
    for key in SUBJECT_FIELDS:
        if key not in values:
            continue
        required = str(values[key])
        actual = request.subject.get(key, "")
        if not actual:
            applied[key] = required
        elif actual != required and not (key == "country" and actual.upper() == required):
            messages.append(f"subject {key} '{actual}' differs from the required '{required}'")
    return Outcome(tuple(messages), applied)


def check_enforce_key_usage(request: CertRequest, values: Values, policy: PolicyInput) -> Outcome:
    messages = []
    for key, requested, label in (
        ("key_usage", request.key_usage, "key usage"),
        ("extended_key_usage", request.extended_key_usage, "extended key usage"),
    ):
        missing = [u for u in values.get(key, ()) if u not in requested]
        if missing:
            messages.append(
                f"{label} {_listing(missing)} {_plural(missing, 'is', 'are')} required"
                f" but not requested"
            )
    return _fail(*messages)


def check_disable_wildcard(request: CertRequest, values: Values, policy: PolicyInput) -> Outcome:
    wildcards = [n for n in request.names if is_wildcard(n)]
    if not wildcards:
        return Outcome()
    noun = _plural(wildcards, "wildcard name", "wildcard names")
    return _fail(f"{noun} {_listing(wildcards)} {_plural(wildcards, 'is', 'are')} not allowed")


def check_block_subdomains(request: CertRequest, values: Values, policy: PolicyInput) -> Outcome:
    exact = [d for d in policy.domains if not is_wildcard(d)]
    messages = []
    for name in request.names:
        parents = [d for d in exact if is_strict_subdomain(name, d)]
        if parents:
            messages.append(
                f"name {name} is a subdomain of {_listing(parents)}, which the policy lists exactly"
            )
    return _fail(*messages)


def check_block_other_domains(request: CertRequest, values: Values, policy: PolicyInput) -> Outcome:
    others = [n for n in request.names if not any(name_matches(d, n) for d in policy.domains)]
    if not others:
        return Outcome()
    noun = _plural(others, "name", "names")
    return _fail(
        f"{noun} {_listing(others)} {_plural(others, 'matches', 'match')} none of the"
        f" policy's domains ({_listing(policy.domains)})"
    )


def check_enforce_domain_suffix(
    request: CertRequest, values: Values, policy: PolicyInput
) -> Outcome:
    suffix = normalise_name(str(values["suffix"]))
    outside = [
        n
        for n in request.names
        if not (normalise_name(n) == suffix or normalise_name(n).endswith("." + suffix))
    ]
    if not outside:
        return Outcome()
    noun = _plural(outside, "name", "names")
    return _fail(f"{noun} {_listing(outside)} {_plural(outside, 'is', 'are')} not within {suffix}")


def check_enforce_minimum_key_size(
    request: CertRequest, values: Values, policy: PolicyInput
) -> Outcome:
    minimum = int(values["minimum_bits"])
    if request.key_algorithm == "ecdsa":
        strength = ECDSA_RSA_EQUIVALENT.get(request.key_size, 0)
        if strength < minimum:
            return _fail(
                f"ECDSA P-{request.key_size} key (RSA-equivalent {strength} bits)"
                f" is below the minimum of {minimum}"
            )
        return Outcome()
    if request.key_size < minimum:
        return _fail(f"RSA key {request.key_size} bits is below the minimum of {minimum}")
    return Outcome()


def check_enforce_algorithm(request: CertRequest, values: Values, policy: PolicyInput) -> Outcome:
    required = str(values["algorithm"])
    if request.key_algorithm != required:
        return _fail(f"key algorithm {request.key_algorithm} is not the required {required}")
    return Outcome()


def check_enforce_digest(request: CertRequest, values: Values, policy: PolicyInput) -> Outcome:
    required = str(values["digest"])
    if request.digest != required:
        return _fail(f"digest {request.digest} is not the required {required}")
    return Outcome()


def check_enforce_max_validity(
    request: CertRequest, values: Values, policy: PolicyInput
) -> Outcome:
    maximum = int(values["max_days"])
    if request.validity_days > maximum:
        return _fail(f"validity of {request.validity_days} days exceeds the maximum of {maximum}")
    return Outcome()


def check_enforce_min_validity(
    request: CertRequest, values: Values, policy: PolicyInput
) -> Outcome:
    minimum = int(values["min_days"])
    if request.validity_days < minimum:
        return _fail(f"validity of {request.validity_days} days is below the minimum of {minimum}")
    return Outcome()


def check_block_ip_in_san(request: CertRequest, values: Values, policy: PolicyInput) -> Outcome:
    if request.ip_sans:
        noun = _plural(request.ip_sans, "IP SAN", "IP SANs")
        return _fail(f"{noun} {_listing(request.ip_sans)} not allowed")
    return Outcome()


def check_enforce_max_san_count(
    request: CertRequest, values: Values, policy: PolicyInput
) -> Outcome:
    maximum = int(values["max_count"])
    if request.san_count > maximum:
        return _fail(f"{request.san_count} SANs exceed the maximum of {maximum}")
    return Outcome()


def check_require_san(request: CertRequest, values: Values, policy: PolicyInput) -> Outcome:
    if request.san_count == 0:
        return _fail("the request has no SAN; at least one is required")
    return Outcome()


def check_block_email_in_san(request: CertRequest, values: Values, policy: PolicyInput) -> Outcome:
    if request.email_sans:
        noun = _plural(request.email_sans, "email SAN", "email SANs")
        return _fail(f"{noun} {_listing(request.email_sans)} not allowed")
    return Outcome()


def check_enforce_certificate_purpose(
    request: CertRequest, values: Values, policy: PolicyInput
) -> Outcome:
    required = str(values["purpose"])
    if request.purpose is None:
        return _fail(f"no purpose requested; the required purpose is {required}")
    if request.purpose != required:
        return _fail(f"purpose {request.purpose} is not the required {required}")
    return Outcome()


def check_block_ca_flag(request: CertRequest, values: Values, policy: PolicyInput) -> Outcome:
    if request.is_ca:
        return _fail("the request asks for CA:TRUE, which is not allowed")
    return Outcome()


_CHECK_LIST: tuple[Check, ...] = (
    check_enforce_values,
    check_enforce_key_usage,
    check_disable_wildcard,
    check_block_subdomains,
    check_block_other_domains,
    check_enforce_domain_suffix,
    check_enforce_minimum_key_size,
    check_enforce_algorithm,
    check_enforce_digest,
    check_enforce_max_validity,
    check_enforce_min_validity,
    check_block_ip_in_san,
    check_enforce_max_san_count,
    check_require_san,
    check_block_email_in_san,
    check_enforce_certificate_purpose,
    check_block_ca_flag,
)
CHECKS: dict[str, Check] = {c.__name__.removeprefix("check_"): c for c in _CHECK_LIST}
if set(CHECKS) != set(BY_ACTION):  # the catalogue is the one list of rules: keep them in step
    raise ImportError(f"rule checks and catalogue differ: {sorted(set(CHECKS) ^ set(BY_ACTION))}")


def _rule_order(rule: Rule) -> tuple[str, str, str]:
    return (rule.action, repr(sorted(rule.values.items())), rule.fail)


def evaluate(
    request: CertRequest, policies: Sequence[PolicyInput], *, ignore_enabled: bool = False
) -> Evaluation:
    """Evaluate the request against every policy that applies to it, and merge (§4.2).

    `ignore_enabled` is for the dry run that names a policy (or sends one inline): it lifts only
    the enabled condition; matching still applies. Policies are evaluated in order of name (then
    id), each policy's rules in a stable order, so that the answer does not depend on the order
    policies and rules were given in. A subject field filled by one policy's `enforce_values` is
    seen as set by the policies after it.
    """
    matched = sorted(
        (p for p in policies if p.applies_to(request, ignore_enabled=ignore_enabled)),
        key=lambda p: (p.name, p.id if p.id is not None else -1),
    )
    applied: dict[str, str] = {}
    failures: list[tuple[PolicyInput, Rule, str]] = []
    seen = request  # the request as the next rule sees it: with the values applied so far
    for policy in matched:
        for rule in sorted(policy.rules, key=_rule_order):
            outcome = CHECKS[rule.action](seen, rule.values, policy)
            filled = {k: v for k, v in outcome.applied.items() if k not in applied}
            if filled:
                applied.update(filled)
                seen = dataclasses.replace(request, subject={**request.subject, **applied})
            failures.extend((policy, rule, message) for message in outcome.messages)
    # A rule's failure counts as hard if any failing instance of that rule action is hard.
    hard_actions = {rule.action for _, rule, _ in failures if rule.fail == "hard"}
    violations = sorted(
        (
            {
                "policy": policy.name,
                "rule": rule.action,
                "fail": "hard" if rule.action in hard_actions else "soft",
                "message": message,
            }
            for policy, rule, message in failures
        ),
        key=lambda v: (v["policy"], v["rule"], v["message"]),
    )
    if hard_actions:
        result = BLOCK
    elif violations:
        result = WARN
    else:
        result = PASS
    return Evaluation(
        result=result,
        allowed=result != BLOCK,
        matched_policies=[{"id": p.id, "name": p.name} for p in matched],
        violations=violations,
        applied_values={k: applied[k] for k in SUBJECT_FIELDS if k in applied},
    )
