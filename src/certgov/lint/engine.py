"""One lint run: every check, then the configuration (`lint:` in certgov.yaml), then the inline
suppressions, then a stable order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import cast

from certgov.declarations import Declarations
from certgov.declarations.config import CONFIG_FILE
from certgov.errors import UsageError
from certgov.lint import accounts, policies, secrets
from certgov.lint.catalogue import BY_ID, RULES
from certgov.lint.context import LintContext, repository_root
from certgov.lint.model import Finding, Level, LintReport, Suppressed
from certgov.lint.suppress import Suppressions
from certgov.state import State


def _configured(declarations: Declarations) -> tuple[dict[str, Level], frozenset[str]]:
    """The level of every rule and the disabled ones; unknown ids in certgov.yaml refused."""
    config = declarations.config.lint
    unknown = sorted({*config.disable, *config.levels} - set(BY_ID))
    if unknown:
        raise UsageError(
            f"{CONFIG_FILE}: lint names unknown rule{'s' if len(unknown) > 1 else ''}"
            f" {', '.join(unknown)}; the rules are {RULES[0].id}-{RULES[-1].id}"
        )
    levels: dict[str, Level] = {rule.id: rule.level for rule in RULES}
    for rule_id, level in config.levels.items():
        levels[rule_id] = cast(Level, level)  # the config schema allows only the three
    return levels, frozenset(config.disable)


def lint(declarations: Declarations, *, now: datetime, base: State | None = None) -> LintReport:
    """Check loaded declarations against the best-practice rules. Offline; never prints.

    `now` is the time CG013 measures expiry from; `base` is the desired State at the base git
    ref (None when there is none), against which CG010 decides which rules are new.
    """
    levels, disabled = _configured(declarations)
    ctx = LintContext(declarations, repository_root(declarations.root), now, base)
    found: list[Finding] = []
    for check in (*accounts.CHECKS, *policies.CHECKS):
        found.extend(check(ctx))
    if "CG012" not in disabled:
        found.extend(secrets.scan(declarations.root))
    suppressions = Suppressions.empty(ctx.repo_root)
    own_files = [ctx.file(CONFIG_FILE), *(ctx.file(rel) for rel in declarations.files)]
    found.extend(suppressions.problems(own_files))
    active: list[Finding] = []
    silenced: list[Suppressed] = []
    for finding in found:
        if finding.rule in disabled:
            continue
        finding = replace(finding, level=levels[finding.rule])
        reason = suppressions.reason_for(finding)
        if reason is None:
            active.append(finding)
        else:
            silenced.append(Suppressed(finding, reason))
    return LintReport(
        rules=RULES,
        levels=levels,
        disabled=disabled,
        findings=tuple(sorted(active, key=Finding.sort_key)),
        suppressed=tuple(sorted(silenced, key=lambda s: s.finding.sort_key())),
    )


def merged(reports: Sequence[LintReport]) -> LintReport:
    """One report of several environments' runs: each finding once."""
    findings = {f for r in reports for f in r.findings}
    suppressed = {s for r in reports for s in r.suppressed}
    return replace(
        reports[0],
        findings=tuple(sorted(findings, key=Finding.sort_key)),
        suppressed=tuple(sorted(suppressed, key=lambda s: s.finding.sort_key())),
    )
