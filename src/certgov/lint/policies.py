"""Checks of policies: CG009, CG010, CG011 and CG014."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from certgov.lint.catalogue import MAX_DOMAIN_PATTERNS
from certgov.lint.context import LintContext
from certgov.lint.model import Finding
from certgov.rules.catalogue import BY_ACTION
from certgov.rules.domains import is_public_suffix, name_matches, normalise_pattern
from certgov.state import POLICY, Resource

# Rules whose outcome depends on the policy's own patterns: the same values mean the same
# strictness only when the two policies list the same patterns.
_PATTERN_RELATIVE = frozenset({"block_subdomains", "block_other_domains"})
# For these the larger (or smaller) number is the stricter one; other values must be equal.
_AT_LEAST = frozenset({"minimum_bits", "min_days"})
_AT_MOST = frozenset({"max_days", "max_count"})


def _policies(ctx: LintContext) -> list[Resource]:
    return ctx.state.of_kind(POLICY)


def without_tests(ctx: LintContext) -> Iterator[Finding]:
    """CG009."""
    for policy in _policies(ctx):
        if policy.spec["enabled"] and not policy.meta.get("tests"):
            yield ctx.finding(
                "CG009",
                policy,
                "name",
                f"{policy.address} is enabled but has no tests; add requests it should pass"
                " and refuse",
            )


def _base_actions(ctx: LintContext, policy: Resource) -> set[str]:
    """The rule actions the policy had at the base ref (by its name or a previous one)."""
    if ctx.base is None:
        return set()
    names = [policy.name, *(policy.meta.get("previous_names") or [])]
    for name in names:
        before = ctx.base.get(POLICY, name)
        if before is not None:
            return {rule["action"] for rule in before.spec["rules"]}
    return set()


def hard_without_rollout(ctx: LintContext) -> Iterator[Finding]:
    """CG010: a hard rule the base ref did not have, declared without `rollout`."""
    for policy in _policies(ctx):
        existing = _base_actions(ctx, policy)
        for index, rule in enumerate(ctx.raw(policy).get("rules") or []):
            action = rule["action"]
            if rule.get("fail", "hard") != "hard" or "rollout" in rule or action in existing:
                continue
            yield ctx.finding(
                "CG010",
                policy,
                f"rules[{index}]",
                f"{policy.address}: new hard rule {action} has no rollout; start it soft"
                " with rollout: {start: soft}",
                key=action,
            )


def _blocks(policy: Resource) -> bool:
    return any(rule["fail"] == "hard" for rule in policy.spec["rules"])


def _apex_wildcard(pattern: str) -> bool:
    """`*.X` where X is a registrable domain: one label above a public suffix."""
    if not pattern.startswith("*."):
        return False
    base = pattern[2:]
    _, _, parent = base.partition(".")
    return bool(parent) and is_public_suffix(parent) and not is_public_suffix(base)


def broad_domains(ctx: LintContext) -> Iterator[Finding]:
    """CG011."""
    for policy in _policies(ctx):
        domains = list(ctx.raw(policy)["matching_criteria"]["domains"])
        if len(domains) > MAX_DOMAIN_PATTERNS:
            yield ctx.finding(
                "CG011",
                policy,
                "matching_criteria.domains",
                f"{policy.address} lists {len(domains)} domain patterns (more than"
                f" {MAX_DOMAIN_PATTERNS}); split it into policies with one purpose each",
                key="count",
            )
        if not _blocks(policy):
            continue
        for index, pattern in enumerate(domains):
            normal = normalise_pattern(str(pattern))
            if _apex_wildcard(normal):
                yield ctx.finding(
                    "CG011",
                    policy,
                    f"matching_criteria.domains[{index}]",
                    f"{policy.address} applies hard rules to {normal}, every name under the"
                    " registrable domain; list the subdomains it is meant for",
                    key=normal,
                )


def _covers(outer: list[str], inner: list[str]) -> bool:
    """Whether every name that one of `inner` matches is matched by one of `outer`."""

    def covered(pattern: str) -> bool:
        if pattern.startswith("*."):
            base = pattern[2:]
            return any(o.startswith("*.") and name_matches(o, base) for o in outer)
        return any(name_matches(o, pattern) for o in outer)

    return all(covered(p) for p in inner)


def _value_at_least_as_strict(key: str, strict: Any, loose: Any) -> bool:
    if key in _AT_LEAST:
        return int(strict) >= int(loose)
    if key in _AT_MOST:
        return int(strict) <= int(loose)
    if isinstance(loose, list):
        return set(loose) <= set(strict or [])
    return bool(strict == loose)


def _rule_at_least_as_strict(
    strict: Mapping[str, Any], loose: Mapping[str, Any], same_patterns: bool
) -> bool:
    if loose["fail"] == "hard" and strict["fail"] != "hard":
        return False
    if loose["action"] in _PATTERN_RELATIVE and not same_patterns:
        return False
    strict_values = strict.get("values") or {}
    loose_values = loose.get("values") or {}
    spec = BY_ACTION[loose["action"]]
    if spec.min_values:
        # Rules such as enforce_values check each key given: the stricter one gives them all.
        return all(
            k in strict_values and _value_at_least_as_strict(k, strict_values[k], v)
            for k, v in loose_values.items()
        )
    return all(
        _value_at_least_as_strict(k, strict_values.get(k), v) for k, v in loose_values.items()
    )


def _shadows(strict: Resource, loose: Resource) -> bool:
    """Whether `strict` governs every name of `loose` with rules at least as strict."""
    s, lo = strict.spec, loose.spec
    if not s["enabled"] or s["matching_criteria"]["action"] != lo["matching_criteria"]["action"]:
        return False
    if not _covers(s["matching_criteria"]["domains"], lo["matching_criteria"]["domains"]):
        return False
    same = s["matching_criteria"]["domains"] == lo["matching_criteria"]["domains"]
    by_action = {rule["action"]: rule for rule in s["rules"]}
    return all(
        rule["action"] in by_action
        and _rule_at_least_as_strict(by_action[rule["action"]], rule, same)
        for rule in lo["rules"]
    )


def shadowed(ctx: LintContext) -> Iterator[Finding]:
    """CG014: an enabled policy that another one makes dead.

    Of two policies that shadow each other (the same in effect) only the later name is reported.
    """
    policies = _policies(ctx)
    for loose in policies:
        if not loose.spec["enabled"]:
            continue
        for strict in policies:
            if strict is loose or not _shadows(strict, loose):
                continue
            if _shadows(loose, strict) and loose.name < strict.name:
                continue
            yield ctx.finding(
                "CG014",
                loose,
                "name",
                f"{loose.address} never changes a result: {strict.address} covers all its"
                " domains with rules at least as strict; remove it or make it differ",
                key=strict.name,
            )
            break


CHECKS = (without_tests, hard_without_rollout, broad_domains, shadowed)
