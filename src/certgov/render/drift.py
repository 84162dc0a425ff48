"""Text and markdown views of a drift report document (certgov.drift.DriftReport.to_json())."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def _diff_text(entry: Mapping[str, Any]) -> str:
    before = json.dumps(entry["before"], ensure_ascii=False)
    after = json.dumps(entry["after"], ensure_ascii=False)
    return f"{entry['path']}: {before} → {after}"


def _live_vs_declared(entry: Mapping[str, Any]) -> str:
    live = json.dumps(entry["before"], ensure_ascii=False)
    declared = json.dumps(entry["after"], ensure_ascii=False)
    return f"{entry['path']}: live {live}, declared {declared}"


def _who(event: Mapping[str, Any] | None) -> str:
    if not event:
        return "no audit event found"
    who = f"{event['actor']} ({event['ip']})"
    return f"last changed by {who} at {event['occurred_at']}: {event['type']}"


def render_text(report: Mapping[str, Any]) -> str:
    lines = [f"Drift against {report['applied_ref']}:"]
    lines.append(
        f"pending (declarations changed since {report['applied_ref']}): "
        f"{len(report['pending']) or 'none'}"
    )
    for item in report["pending"]:
        lines.append(f"  {item['change']} {item['address']}")
        lines += [f"      {_diff_text(d)}" for d in item["diff"]]
    lines.append(
        f"out of band (live differs from {report['applied_ref']}): "
        f"{len(report['out_of_band']) or 'none'}"
    )
    for item in report["out_of_band"]:
        lines.append(f"  {item['action']} {item['address']} ({_who(item['last_event'])})")
        lines += [f"      {_live_vs_declared(d)}" for d in item["diff"]]
    lines.append(f"hygiene: {len(report['hygiene']) or 'none'}")
    for f in report["hygiene"]:
        lines.append(f"  {f['level']} {f['check']} {f['subject']}: {f['message']}")
    skipped = report.get("skipped") or []
    if skipped:
        lines.append(f"not checked: {len(skipped)}")
        lines += [f"  {s['check']}: {s['reason']}" for s in skipped]
    return "\n".join(lines) + "\n"


def render_markdown(report: Mapping[str, Any], *, marker: str | None = None) -> str:
    ref = report["applied_ref"]
    env = report.get("environment")
    out = [
        f"{marker}\n" if marker else "",
        f"### certgov drift: {env}\n\n" if env else "### certgov drift\n\n",
    ]
    counts = (
        f"**{len(report['pending'])} pending** · **{len(report['out_of_band'])} out of band** · "
        f"{len(report['hygiene'])} hygiene findings"
    )
    out.append(counts + f" (against `{ref}`)\n\n")
    if report["pending"]:
        out.append(f"#### Pending: declarations changed since `{ref}`\n\n")
        for item in report["pending"]:
            out.append(f"- {item['change']} `{item['address']}`\n")
            out += [f"  - `{_diff_text(d)}`\n" for d in item["diff"]]
        out.append("\n")
    if report["out_of_band"]:
        out.append("#### Out of band: changed on the platform, not in git\n\n")
        out.append("| object | change | who and when |\n|---|---|---|\n")
        for item in report["out_of_band"]:
            diff = "<br>".join(f"`{_live_vs_declared(d)}`" for d in item["diff"]) or item["action"]
            out.append(f"| `{item['address']}` | {diff} | {_who(item['last_event'])} |\n")
        out.append("\n")
    if report["hygiene"]:
        out.append("#### Hygiene\n\n| level | check | object | finding |\n|---|---|---|---|\n")
        for f in report["hygiene"]:
            out.append(f"| {f['level']} | {f['check']} | `{f['subject']}` | {f['message']} |\n")
        out.append("\n")
    skipped = report.get("skipped") or []
    if skipped:
        out.append("#### Not checked\n\n")
        out += [f"- **{s['check']}**: {s['reason']}\n" for s in skipped]
        out.append("\n")
    if not (report["pending"] or report["out_of_band"] or report["hygiene"]):
        what = " in what was checked" if skipped else ""
        out.append(f"No drift{what}: the platform matches the applied declarations.\n")
    return "".join(out)
