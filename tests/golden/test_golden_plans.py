"""Golden plans: one folder per case under plans/ with `desired/` (a declarations repo),
`live.json` (what the list endpoints answer), optional `facts.json`, and the expected
`plan.json`, `plan.txt` and `plan.md` (the pull-request comment), compared whole. `pytest --update-golden` rewrites them on purpose."""

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
from certgov.plan.document import build_document, dumps
from certgov.plan.model import StoreRecordMeta
from certgov.plan.schema import plan_schema_problems
from certgov.render import markdown, text
from certgov.run.plan import plan_options
from certgov.state import POLICY, SERVICE_ACCOUNT, State

CASES = sorted(p for p in (Path(__file__).parent / "plans").iterdir() if p.is_dir())
DEFAULT_NOW = "2026-06-01T00:00:00+00:00"


def live_state(case: Path) -> State:
    data = json.loads((case / "live.json").read_text())
    return State.build(
        [live_resource(SERVICE_ACCOUNT, o) for o in data.get("service_accounts", [])]
        + [live_resource(POLICY, o) for o in data.get("policies", [])]
    )


def facts(case: Path) -> Facts:
    path = case / "facts.json"
    data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    records = {
        name: None
        if meta is None
        else StoreRecordMeta(meta["client_id"], meta["secret_created_at"])
        for name, meta in data.get("store_records", {}).items()
    }
    return Facts(now=datetime.fromisoformat(data.get("now", DEFAULT_NOW)), store_records=records)


def compare(path: Path, actual: str, update: bool) -> None:
    if update:
        path.write_text(actual)
    assert path.read_text() == actual


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_plan(case: Path, update_golden: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(case)
    decls = load("desired")
    f = facts(case)
    result = plan(decls.state, live_state(case), f, plan_options(decls.config))
    document = build_document(
        result,
        server="http://clm.test",
        source={"path": "desired", "git_commit": None, "digest": decls.digest},
        created_at=f.now.isoformat(),
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
