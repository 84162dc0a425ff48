"""The workflow runner's `strategy:`: matrix combinations, their order, max-parallel, fail-fast,
the contexts a matrix job sees, and what it refuses, as GitHub does."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.gitops.expressions import ExpressionError
from tests.gitops.github_fake import FakeGitHub
from tests.gitops.workflow_runner import (
    Environment,
    Repository,
    Run,
    Runner,
    RunnerError,
    matrix_combinations,
)

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("bash", "git")), reason="jobs run with bash and git"
)

LIST_JOB = """\
  list:
    runs-on: ubuntu-latest
    permissions: {}
    outputs:
      targets: ${{ steps.list.outputs.targets }}
    steps:
      - id: list
        run: echo 'targets=[{"name":"staging"},{"name":"production","after":"staging"}]' >> "$GITHUB_OUTPUT"
"""


def run_workflow(
    tmp_path: Path,
    jobs: str,
    review: Any = None,
    environments: dict[str, Environment] | None = None,
) -> Run:
    github = FakeGitHub()
    repo = Repository.create("acme/certs", tmp_path / "github", github)
    repo.commit("main", {"README.md": "x\n"}, "start")
    repo.environments.update(environments or {})
    workflow = tmp_path / "w.yml"
    text = f"name: w\non: workflow_dispatch\npermissions: {{}}\njobs:\n{jobs}"
    workflow.write_text(text, encoding="utf-8")
    runner = Runner(repo, tmp_path / "runs", ROOT, None, review)
    return runner.run(workflow, "w.yml", repo.dispatch_event("main"))


def test_a_matrix_from_a_job_output_runs_once_per_entry_in_order(tmp_path: Path) -> None:
    run = run_workflow(
        tmp_path,
        LIST_JOB
        + """\
  apply:
    name: ${{ format('apply ({0})', matrix.name) }}
    needs: list
    runs-on: ubuntu-latest
    permissions: {}
    strategy:
      max-parallel: 1
      matrix:
        include: ${{ fromJSON(needs.list.outputs.targets) }}
    env:
      TARGET: ${{ matrix.name }}
    outputs:
      last: ${{ steps.say.outputs.said }}
    steps:
      - id: say
        name: say ${{ matrix.name }} of ${{ strategy.job-total }}
        if: matrix.name != 'nothing'
        run: echo "said=$TARGET ${{ matrix.after }} ${{ strategy.job-index }}" >> "$GITHUB_OUTPUT"
""",
    )

    apply = run.jobs["apply"]
    assert (run.conclusion, apply.result, apply.outputs) == (
        "success",
        "success",
        {"last": "production staging 1"},
    )
    assert [(i.name, i.matrix, i.after, [s.name for s in i.steps]) for i in apply.instances] == [
        ("apply (staging)", {"name": "staging"}, ("list",), ["say staging of 2"]),
        (
            "apply (production)",
            {"name": "production", "after": "staging"},
            ("list", "apply (staging)"),
            ["say production of 2"],
        ),
    ]
    assert run.line() == f"w (workflow_dispatch, run {run.id}): success [list success, " + (
        "apply (staging) success, apply (production) success]"
    )


def test_without_max_parallel_the_instances_of_a_matrix_are_not_ordered(tmp_path: Path) -> None:
    run = run_workflow(
        tmp_path,
        """\
  each:
    runs-on: ubuntu-latest
    permissions: {}
    strategy:
      matrix:
        target: [staging, production]
    steps:
      - run: "true"
""",
    )

    assert [(i.name, i.after) for i in run.jobs["each"].instances] == [
        ("each (staging)", ()),
        ("each (production)", ()),
    ]


def test_fail_fast_cancels_the_instances_not_started_and_skips_what_needs_them(
    tmp_path: Path,
) -> None:
    run = run_workflow(
        tmp_path,
        """\
  apply:
    runs-on: ubuntu-latest
    permissions: {}
    strategy:
      max-parallel: 1
      matrix:
        target: [staging, production]
    steps:
      - run: "false"
  record:
    needs: apply
    runs-on: ubuntu-latest
    permissions: {}
    steps:
      - run: "true"
""",
    )

    assert [(i.name, i.result) for i in run.jobs["apply"].instances] == [
        ("apply (staging)", "failure"),
        ("apply (production)", "cancelled"),
    ]
    assert (run.conclusion, run.jobs["apply"].result, run.jobs["record"].result) == (
        "failure",
        "failure",
        "skipped",
    )


def test_without_fail_fast_every_instance_runs(tmp_path: Path) -> None:
    run = run_workflow(
        tmp_path,
        """\
  plan:
    runs-on: ubuntu-latest
    permissions: {}
    strategy:
      fail-fast: false
      max-parallel: 1
      matrix:
        target: [staging, production]
    steps:
      - run: test "${{ matrix.target }}" = production
""",
    )

    assert [(i.name, i.result) for i in run.jobs["plan"].instances] == [
        ("plan (staging)", "failure"),
        ("plan (production)", "success"),
    ]


def test_each_instance_gets_its_environment_and_its_reviewers_answer(tmp_path: Path) -> None:
    asked: list[tuple[str, str]] = []

    def review(environment: str, job: str) -> bool:
        asked.append((environment, job))
        return environment != "certgov-production"

    run = run_workflow(
        tmp_path,
        """\
  apply:
    name: apply ${{ matrix.target }}
    runs-on: ubuntu-latest
    permissions: {}
    environment: certgov-${{ matrix.target }}
    strategy:
      fail-fast: false
      matrix:
        target: [staging, production]
    steps:
      - run: test -n "${{ secrets.KEY }}"
""",
        review,
        {
            "certgov-staging": Environment({"KEY": "s"}, ("main",), ("lead",)),
            "certgov-production": Environment({"KEY": "p"}, ("main",), ("lead",)),
        },
    )

    assert asked == [
        ("certgov-staging", "apply staging"),
        ("certgov-production", "apply production"),
    ]
    assert [
        (i.name, i.result, [(s.name, s.log) for s in i.steps if s.name == "environment"])
        for i in run.jobs["apply"].instances
    ] == [
        ("apply staging", "success", [("environment", "deployment to certgov-staging approved by lead")]),
        ("apply production", "failure", [("environment", "deployment to certgov-production rejected by lead")]),
    ]  # fmt: skip


def test_an_empty_matrix_fails_the_job(tmp_path: Path) -> None:
    run = run_workflow(
        tmp_path,
        """\
  each:
    runs-on: ubuntu-latest
    permissions: {}
    strategy:
      matrix:
        include: ${{ fromJSON('[]') }}
    steps:
      - run: "true"
""",
    )

    assert [(s.name, s.log) for s in run.jobs["each"].steps] == [
        ("strategy", "Error when evaluating 'strategy' for job 'each': the matrix is empty")
    ]


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("if: matrix.target == 'a'", "the context 'matrix' is not available in"),
        (
            "timeout-minutes: 5\n    strategy:\n      matrix: ${{ matrix.x }}",
            "the context 'matrix'",
        ),
    ],
    ids=["job if", "strategy"],
)
def test_the_matrix_is_not_available_before_it_is_made(
    tmp_path: Path, where: str, message: str
) -> None:
    jobs = f"""\
  each:
    runs-on: ubuntu-latest
    permissions: {{}}
    {where}
    steps:
      - run: "true"
"""
    if "strategy" not in where:
        jobs = jobs.replace(
            "    steps:", "    strategy:\n      matrix:\n        target: [a]\n    steps:"
        )
    with pytest.raises(ExpressionError) as caught:
        run_workflow(tmp_path, jobs)

    assert message in str(caught.value)


def test_an_unknown_strategy_key_is_refused(tmp_path: Path) -> None:
    jobs = """\
  each:
    runs-on: ubuntu-latest
    permissions: {}
    strategy:
      matrix: {target: [a]}
      fail_fast: false
    steps:
      - run: "true"
"""
    with pytest.raises(RunnerError) as caught:
        run_workflow(tmp_path, jobs)

    assert str(caught.value) == "jobs.each.strategy: the runner does not support ['fail_fast']"


def test_matrix_combinations_follow_githubs_include_and_exclude_rules() -> None:
    # GitHub's documented example: include adds to the combinations whose original values it
    # keeps, and makes a combination of its own otherwise.
    spec = {
        "fruit": ["apple", "pear"],
        "animal": ["cat", "dog"],
        "include": [
            {"color": "green"},
            {"color": "pink", "animal": "cat"},
            {"fruit": "apple", "shape": "circle"},
            {"fruit": "banana"},
            {"fruit": "banana", "animal": "cat"},
        ],
    }

    assert matrix_combinations(spec, "j") == [
        {"fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle"},
        {"fruit": "apple", "animal": "dog", "color": "green", "shape": "circle"},
        {"fruit": "pear", "animal": "cat", "color": "pink"},
        {"fruit": "pear", "animal": "dog", "color": "green"},
        {"fruit": "banana"},
        {"fruit": "banana", "animal": "cat"},
    ]
    assert matrix_combinations({"os": ["a", "b"], "v": [1, 2], "exclude": [{"os": "b", "v": 1}]}, "j") == [
        {"os": "a", "v": 1},
        {"os": "a", "v": 2},
        {"os": "b", "v": 2},
    ]  # fmt: skip
