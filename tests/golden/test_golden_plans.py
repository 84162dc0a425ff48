"""Golden plans: one folder per case under plans/ with `desired/` (a declarations repo),
`live.json` (what the list endpoints answer), optional `facts.json`, and the expected
`plan.json`, `plan.txt` and `plan.md` (the pull-request comment), compared whole.
`pytest --update-golden` rewrites them on purpose.

`facts.json` may hold `now`, `store_records` (name: {client_id, secret_created_at} or null),
`rollout` ("policy/rule": {soft_since, requests, warnings}), `own_account` (the uuid the run
is logged in as), `not_planned` (kind: why it could not be read, as a read-scope run) and
`tests` (address: the policy's dry-run report, as plan would attach it)."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from certgov.client.live import live_resource
from certgov.declarations import load
from certgov.plan import Facts, plan
from certgov.plan.document import LIVE, NOT_PLANNED, Coverage, Target, build_document, dumps
from certgov.plan.model import StoreRecordMeta, TestReport
from certgov.plan.rollout import RolloutFacts
from certgov.plan.schema import plan_schema_problems
from certgov.render import markdown, text
from certgov.run.plan import plan_options
from certgov.state import KINDS, POLICY, SERVICE_ACCOUNT, State

CASES = sorted(p for p in (Path(__file__).parent / "plans").iterdir() if p.is_dir())
DEFAULT_NOW = "2026-06-01T00:00:00+00:00"


def live_state(case: Path) -> State:
    data = json.loads((case / "live.json").read_text())
    return State.build(
        [live_resource(SERVICE_ACCOUNT, o) for o in data.get("service_accounts", [])]
        + [live_resource(POLICY, o) for o in data.get("policies", [])]
    )


def facts_data(case: Path) -> dict[str, Any]:
    path = case / "facts.json"
    return json.loads(path.read_text()) if path.exists() else {}


def facts(case: Path) -> Facts:
    data = facts_data(case)
    records = {
        name: None
        if meta is None
        else StoreRecordMeta(meta["client_id"], meta["secret_created_at"])
        for name, meta in data.get("store_records", {}).items()
    }
    rollout = {
        tuple(key.split("/", 1)): RolloutFacts(
            datetime.fromisoformat(f["soft_since"]), f["requests"], f["warnings"]
        )
        for key, f in data.get("rollout", {}).items()
    }
    return Facts(
        now=datetime.fromisoformat(data.get("now", DEFAULT_NOW)),
        store_records=records,
        rollout=rollout,  # type: ignore[arg-type]
        own_account=data.get("own_account"),
    )


def coverage(case: Path) -> dict[str, Coverage]:
    """How each kind was compared: live, unless facts.json says it could not be read."""
    missing = facts_data(case).get("not_planned", {})
    return {
        kind: Coverage(NOT_PLANNED, missing[kind]) if kind in missing else Coverage(LIVE)
        for kind in KINDS
    }


def compare(path: Path, actual: str, update: bool) -> None:
    if update:
        path.write_text(actual)
    assert path.read_text() == actual


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_plan(case: Path, update_golden: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(case)
    decls = load("desired")
    f = facts(case)
    compared = coverage(case)
    # A kind that could not be read is left out of both sides, as a read-scope run does.
    desired = State.build(r for r in decls.state if compared[r.kind].compared == LIVE)
    result = plan(desired, live_state(case), f, plan_options(decls.config))
    document = build_document(
        result,
        server="http://clm.test",
        source={"path": "desired", "git_commit": None, "digest": decls.digest},
        created_at=f.now.isoformat(),
        target=Target("http://clm.test/api/v1"),
        coverage=compared,
        tests={
            address: TestReport.from_json(report)
            for address, report in facts_data(case).get("tests", {}).items()
        },
    )
    assert plan_schema_problems(document) == []
    compare(case / "plan.json", dumps(document), update_golden)
    out = io.StringIO()
    text.render(document, out)
    compare(case / "plan.txt", out.getvalue(), update_golden)
    compare(
        case / "plan.md",
        markdown.render_text(document, marker=f"<!-- certgov:plan:{case.name} -->"),
        update_golden,
    )
