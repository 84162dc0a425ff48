"""Text and markdown drift reports, compared whole."""

from __future__ import annotations

from certgov.render.drift import render_markdown, render_text

EVENT = {
    "type": "policy.updated",
    "actor": "ops",
    "ip": "10.0.0.5",
    "occurred_at": "2026-06-01T10:00:00+00:00",
}
REPORT = {
    "format_version": "1",
    "applied_ref": "certgov-applied",
    "pending": [
        {
            "address": "Policy/B",
            "change": "changed",
            "diff": [{"path": "description", "before": "x", "after": "y"}],
        },
        {"address": "Policy/C", "change": "added", "diff": []},
    ],
    "out_of_band": [
        {
            "address": "Policy/A",
            "action": "update",
            "diff": [{"path": "enabled", "before": False, "after": True}],
            "last_event": EVENT,
        },
        {"address": "ServiceAccount/z", "action": "unmanaged", "diff": [], "last_event": None},
    ],
    "hygiene": [
        {
            "level": "warning",
            "check": "expiring",
            "subject": "ServiceAccount/ci",
            "message": "expires in 3 days",
        }
    ],
    "exit_code": 6,
}


def test_drift_text_report() -> None:
    assert render_text(REPORT) == (
        "Drift against certgov-applied:\n"
        "pending (declarations changed since certgov-applied): 2\n"
        "  changed Policy/B\n"
        '      description: "x" → "y"\n'
        "  added Policy/C\n"
        "out of band (live differs from certgov-applied): 2\n"
        "  update Policy/A (last changed by ops (10.0.0.5) at 2026-06-01T10:00:00+00:00: policy.updated)\n"
        "      enabled: live false, declared true\n"
        "  unmanaged ServiceAccount/z (no audit event found)\n"
        "hygiene: 1\n"
        "  warning expiring ServiceAccount/ci: expires in 3 days\n"
    )


def test_drift_markdown_report() -> None:
    assert render_markdown(REPORT, marker="<!-- m -->") == (
        "<!-- m -->\n### certgov drift\n\n"
        "**2 pending** · **2 out of band** · 1 hygiene findings (against `certgov-applied`)\n\n"
        "#### Pending: declarations changed since `certgov-applied`\n\n"
        "- changed `Policy/B`\n"
        '  - `description: "x" → "y"`\n'
        "- added `Policy/C`\n\n"
        "#### Out of band: changed on the platform, not in git\n\n"
        "| object | change | who and when |\n|---|---|---|\n"
        "| `Policy/A` | `enabled: live false, declared true` | last changed by ops (10.0.0.5) at 2026-06-01T10:00:00+00:00: policy.updated |\n"
        "| `ServiceAccount/z` | unmanaged | no audit event found |\n\n"
        "#### Hygiene\n\n| level | check | object | finding |\n|---|---|---|---|\n"
        "| warning | expiring | `ServiceAccount/ci` | expires in 3 days |\n\n"
    )


def test_drift_markdown_without_drift() -> None:
    clean = {**REPORT, "pending": [], "out_of_band": [], "hygiene": [], "exit_code": 0}
    assert render_markdown(clean) == (
        "### certgov drift\n\n"
        "**0 pending** · **0 out of band** · 0 hygiene findings (against `certgov-applied`)\n\n"
        "No drift: the platform matches the applied declarations.\n"
    )
