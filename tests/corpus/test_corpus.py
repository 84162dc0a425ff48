"""Every hostile input of cases.py through the real CLI (in-process): the expected error
compared whole, exit 1, no traceback, and nothing applied (the audit log shows no change)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from certgov.cli import cli
from certgov.declarations import load
from certgov.errors import DeclarationError
from certgov.plan import Facts, plan
from certgov.plan.document import build_document, dumps
from certgov.run.plan import plan_options
from certgov.state import State
from tests.corpus.cases import BASE, CASES, A, Case, Content, account
from tests.integration.conftest import LiveServer, start_server

EXPECTED = Path(__file__).parent / "expected"

# Events that record a change of the tenant; logins, session ends and dry runs are not changes.
CHANGE_EVENTS = frozenset(
    {
        *(
            f"service_account.{verb}"
            for verb in ("created", "updated", "enabled", "disabled", "deleted")
        ),
        "service_account.secret_regenerated",
        *(f"policy.{verb}" for verb in ("created", "updated", "enabled", "disabled", "deleted")),
        "certificate.requested",
    }
)


def write(path: Path, content: Content) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content() if callable(content) else content
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)


def make_repo(root: Path, case: Case) -> Path:
    files: dict[str, Content | None] = {**BASE, **case.files}
    for rel, content in files.items():
        if content is not None:
            write(root / rel, content)
    return root


def base_plan(repo: Path) -> dict[str, Any]:
    """A valid plan document of the base repo against an empty tenant, made offline."""
    decls = load(str(repo))
    result = plan(
        decls.state,
        State.build([]),
        Facts(now=datetime(2026, 6, 1, tzinfo=UTC), store_records={}),
        plan_options(decls.config),
    )
    return build_document(
        result,
        server="http://127.0.0.1",
        source={"path": str(repo), "git_commit": decls.git_commit, "digest": decls.digest},
        created_at="2026-06-01T00:00:00+00:00",
    ).to_json()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("corpus-server")
    yield from start_server(f"sqlite:///{workdir / 'server.db'}", workdir)


def audit_ids(live: LiveServer) -> set[int]:
    with live.client() as client:
        return {e["id"] for e in client.audit_events()}


def change_events_since(live: LiveServer, seen: set[int]) -> list[str]:
    with live.client() as client:
        events = client.audit_events()
    return [e["type"] for e in events if e["id"] not in seen and e["type"] in CHANGE_EVENTS]


def serves_policies(live: LiveServer) -> bool:
    with httpx.Client() as http:
        paths = http.get(f"{live.url}/openapi.json").json()["paths"]
    return "/api/v1/service/policies" in paths


def cli_args(case: Case, repo: Path, tmp_path: Path) -> list[str]:
    if case.command == "validate":
        return ["validate", str(repo)]
    if case.command == "test":
        return ["test", "--offline", str(repo)]
    if case.command == "plan":
        return ["plan", str(repo)]
    document: dict[str, Any] | bytes = base_plan(repo)
    if case.plan_edit is not None:
        document = case.plan_edit(document)  # type: ignore[arg-type]
    plan_file = tmp_path / "plan.json"
    plan_file.write_bytes(document if isinstance(document, bytes) else dumps(document).encode())
    return ["apply", str(plan_file), *case.extra_args]


def run(case: Case, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[int, str, Any]:
    repo = make_repo(tmp_path / "repo", case)
    args = cli_args(case, repo, tmp_path)
    if case.command in ("validate", "test"):
        result = CliRunner().invoke(cli, args)
        return result.exit_code, result.output, result.exception
    live: LiveServer = request.getfixturevalue("server")
    if case.command == "plan" and not serves_policies(live):
        pytest.skip("the reference server does not serve /service/policies yet")
    seen = audit_ids(live)
    result = CliRunner().invoke(cli, [*args, "--url", live.url, "--credentials", str(live.admin)])
    assert change_events_since(live, seen) == []
    return result.exit_code, result.output, result.exception


def check(case: Case, tmp_path: Path, request: pytest.FixtureRequest, update: bool) -> None:
    code, output, exception = run(case, tmp_path, request)
    assert exception is None or isinstance(exception, SystemExit), repr(exception)
    assert "Traceback" not in output
    assert code == 1, output
    text = output.replace(str(tmp_path), "<tmp>")
    expected = EXPECTED / f"{case.name}.txt"
    if update:
        expected.write_text(text, encoding="utf-8")
    assert expected.read_text(encoding="utf-8") == text


def marks(case: Case) -> list[pytest.MarkDecorator]:
    return [pytest.mark.xfail(strict=True, reason=case.bug)] if case.bug else []


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name, marks=marks(c)) for c in CASES])
def test_hostile_input_is_refused_clearly(
    case: Case, tmp_path: Path, request: pytest.FixtureRequest, update_golden: bool
) -> None:
    check(case, tmp_path, request, update_golden and case.bug is None)


def test_corpus_has_at_least_sixty_inputs() -> None:
    assert len(CASES) >= 60
    assert len({c.name for c in CASES}) == len(CASES)


def test_every_expected_output_belongs_to_a_case() -> None:
    names = {c.name for c in CASES if c.bug is None}
    assert {p.stem for p in EXPECTED.glob("*.txt")} <= names


def test_base_repo_is_valid(tmp_path: Path) -> None:
    """The cases are edits of a valid repo, so each error is the edit's and only the edit's."""
    repo = make_repo(tmp_path / "repo", Case("base", "nothing", "none"))
    result = CliRunner().invoke(cli, ["validate", str(repo)])
    assert (result.exit_code, result.output) == (0, "ok: 1 service account, 1 policy\n")
    assert json.loads(dumps(base_plan(repo)))["summary"]["create"] == 2


def test_huge_rotate_after_is_refused_before_planning(tmp_path: Path) -> None:
    """Once bounded by the loader, `rotate_after` never reaches the planner's date arithmetic,
    which overflowed on it (OverflowError while planning an existing account)."""
    secret = "{store: local, path: accounts/ci, rotate_after: 1" + "0" * 20 + "d}"
    repo = make_repo(
        tmp_path / "repo",
        Case("duration-huge", "rotate_after of 10^20 days", "numbers", {A: account(secret=secret)}),
    )
    with pytest.raises(DeclarationError) as info:
        load(str(repo))
    assert [str(p) for p in info.value.problems] == [
        f"{repo}/accounts/ci.yaml:8:57: secret.rotate_after: must be at most 3650 days (3650d)"
    ]
