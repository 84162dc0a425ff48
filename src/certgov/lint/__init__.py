"""Best-practice lint of a declarations repository: findings with source positions.

lint(declarations, *, now, base=None) -> LintReport     offline; never prints
LintReport.to_json()                                    the document every renderer reads
render_text(document, out) / render_json(document, out) in certgov.lint.report;
SARIF 2.1.0 in certgov.render.sarif

accounts    CG001-CG008, CG013       policies   CG009-CG011, CG014
secrets     CG012 (tracked files)    suppress   inline `# certgov: ignore` (CG015)
catalogue   the rules' ids, names, levels and help texts
"""

from __future__ import annotations

from certgov.lint.catalogue import BY_ID, RULES
from certgov.lint.engine import lint
from certgov.lint.model import LEVELS, Finding, Level, LintReport, Location, RuleInfo, Suppressed

__all__ = [
    "BY_ID",
    "LEVELS",
    "RULES",
    "Finding",
    "Level",
    "LintReport",
    "Location",
    "RuleInfo",
    "Suppressed",
    "lint",
]
