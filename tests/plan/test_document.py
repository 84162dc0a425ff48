"""The plan document: schema, fingerprint, plan files."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from certgov.errors import PlanFileError, Position
from certgov.plan import Facts, PlanOptions, plan
from certgov.plan.document import PlanDocument, build_document, dumps, load_plan_file
from certgov.plan.schema import plan_schema_problems
from certgov.render import jsonplan
from certgov.state import State
from tests.plan.helpers import SECRET, account, policy

SOURCE = {"path": "repo", "git_commit": None, "digest": "sha256:" + "0" * 64}


def sample_document(created_at: str = "2026-06-01T00:00:00+00:00") -> PlanDocument:
    desired = State.build(
        [account("ci", meta={"secret": SECRET}), policy("base", description="changed")]
    )
    live = State.build([policy("base", live=True), account("stray", live=True)])
    result = plan(desired, live, Facts(now=datetime(2026, 6, 1, tzinfo=UTC)), PlanOptions())
    return build_document(result, server="http://clm", source=SOURCE, created_at=created_at)


def test_document_validates_against_the_published_schema() -> None:
    assert plan_schema_problems(sample_document()) == []


def test_document_summary_counts_every_action() -> None:
    assert sample_document().summary == {
        "create": 1,
        "update": 1,
        "rename": 0,
        "enable": 0,
        "disable": 0,
        "delete": 0,
        "rotate": 0,
        "promote": 0,
        "unchanged": 0,
        "ignored": 0,
        "unmanaged": 1,
        "partial": False,
    }


def test_fingerprint_ignores_created_at() -> None:
    a = sample_document("2026-06-01T00:00:00+00:00")
    b = sample_document("2027-01-01T00:00:00+00:00")
    assert a.fingerprint == b.fingerprint
    assert a.fingerprint.startswith("sha256:")


def test_plan_document_holds_no_secret_value() -> None:
    doc = sample_document().to_json()
    (create,) = [c for c in doc["changes"] if c["action"] == "create"]
    assert create["secret"] == {"store": "local", "path": "clm/ci"}


def test_json_renderer_writes_the_document() -> None:
    doc = sample_document()
    out = io.StringIO()
    jsonplan.render(doc, out)
    assert json.loads(out.getvalue()) == doc.to_json()


def test_load_plan_file_round_trips(tmp_path: Path) -> None:
    doc = sample_document()
    path = tmp_path / "plan.json"
    path.write_text(dumps(doc))
    assert load_plan_file(path) == doc


def test_load_plan_file_refuses_an_edited_plan(tmp_path: Path) -> None:
    doc = sample_document().to_json()
    doc["changes"][0]["after"]["description"] = "sneaky"
    path = tmp_path / "plan.json"
    path.write_text(dumps(doc))
    with pytest.raises(PlanFileError) as info:
        load_plan_file(path)
    assert info.value.message == (
        "the plan file's fingerprint does not match its content: it was edited after "
        "`certgov plan` wrote it; make a new plan"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "{not json",
            "plan file is not valid JSON: Expecting property name enclosed in double quotes",
        ),
        ("[]", "not a certgov plan document of format_version '1'"),
        ('{"format_version": "1"}', None),
    ],
)
def test_load_plan_file_refuses_malformed_files(
    tmp_path: Path, content: str, message: str | None
) -> None:
    path = tmp_path / "plan.json"
    path.write_text(content)
    with pytest.raises(PlanFileError) as info:
        load_plan_file(path)
    if message is not None:
        assert info.value.message == message
    else:
        assert info.value.message.startswith("malformed plan file: (document): 'certgov_version'")


def test_load_plan_file_reports_an_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(PlanFileError) as info:
        load_plan_file(tmp_path / "missing.json")
    assert info.value.position is not None
    assert info.value.position.file == str(tmp_path / "missing.json")


@pytest.mark.parametrize("depth", [101, 100_000], ids=["decodable", "past-the-stack"])
def test_load_plan_file_refuses_deep_nesting(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "plan.json"
    # A string holding brackets and an escaped quote does not count as nesting.
    text = '{"format_version": "1", "x": "[[\\"{", "changes":\n  ' + "[" * depth + "]" * depth + "}"
    path.write_text(text)
    with pytest.raises(PlanFileError) as info:
        load_plan_file(path)
    # The document is the first level: the 100th bracket of `changes` opens the 101st.
    assert (info.value.message, info.value.position) == (
        "plan file is not a certgov plan: its JSON nests deeper than 100 levels",
        Position(str(path), 2, 102),
    )


def test_load_plan_file_reads_nesting_at_the_limit(tmp_path: Path) -> None:
    # The document, `changes` and 98 more lists: 100 levels, refused by the schema, not the depth.
    text = '{"format_version": "1", "changes": ' + "[" * 99 + "]" * 99 + "}"
    path = tmp_path / "plan.json"
    path.write_text(text)
    with pytest.raises(PlanFileError) as info:
        load_plan_file(path)
    problems = plan_schema_problems(json.loads(text))
    assert info.value.message == "malformed plan file: " + "; ".join(problems)


def _schema_fields(node: object) -> set[str]:
    """Every property name the schema defines, at any depth."""
    found: set[str] = set()
    if isinstance(node, dict):
        found |= set(node.get("properties") or {})
        for value in node.values():
            found |= _schema_fields(value)
    elif isinstance(node, list):
        for value in node:
            found |= _schema_fields(value)
    return found


def test_plan_format_doc_names_every_schema_field() -> None:
    root = Path(__file__).resolve().parents[2]
    schema = json.loads((root / "schemas" / "plan.json").read_text())
    doc = (root / "docs" / "plan-format.md").read_text()
    missing = sorted(f for f in _schema_fields(schema) if f"`{f}`" not in doc)
    assert missing == []


@pytest.mark.parametrize("case", ["changes", "create-everything", "no-changes"])
def test_a_golden_plan_file_reads_back_as_the_same_document(case: str) -> None:
    path = Path(__file__).resolve().parents[1] / "golden" / "plans" / case / "plan.json"
    document = load_plan_file(path)
    assert dumps(document) == path.read_text()


def test_a_document_round_trips_through_json() -> None:
    doc = sample_document()
    assert PlanDocument.from_json(json.loads(dumps(doc))) == doc
