"""The shipped workflow and action files: GitHub's schemas offline, and real certgov commands only."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from certgov.cli import workflows_check
from certgov.cli.main import cli
from certgov.gitops import workflows
from certgov.gitops.workflows import Finding, Invocation
from certgov.version import __version__
from tests.gitops.expressions import interpolate

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW_FILES = sorted(
    [*ROOT.glob(".github/workflows/*.yml"), *ROOT.glob("examples/github/*.yml")]
)
ACTION_FILES = sorted(ROOT.glob(".github/actions/*/action.yml"))
SHIPPED = [*WORKFLOW_FILES, *ACTION_FILES]

# Commands, options and choices the workflows use that land in parallel work (issue [gitops]);
# a call that misses only these is an expected failure until they are registered.
PENDING = {
    "drift",
    "drift --applied-ref",
    "drift --format markdown",
    "drift --issue",
    "drift --fail-on warning",
    "plan --format markdown",
    "plan --details-url",
    "lint --format sarif",
    "lint --output",
    "lint --base",
    "test --junit",
}


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _shipped_invocations() -> list[Invocation]:
    return [
        invocation
        for path in SHIPPED
        for invocation in workflows.invocations(workflows.load(path), _relative(path))
    ]


def _offline_env() -> dict[str, str]:
    # Any attempt to fetch a schema would go to a closed loopback port and fail.
    closed = "http://127.0.0.1:9"
    return {**os.environ, "HTTP_PROXY": closed, "HTTPS_PROXY": closed, "NO_PROXY": ""}


# -- the shipped files ---------------------------------------------------------------------------


def test_the_shipped_files_are_the_ones_expected() -> None:
    assert [_relative(p) for p in SHIPPED] == [
        ".github/workflows/ci.yml",
        "examples/github/apply.yml",
        "examples/github/drift.yml",
        "examples/github/plan.yml",
        ".github/actions/certgov/action.yml",
    ]


@pytest.mark.parametrize(
    ("schema", "files"),
    [("vendor.github-workflows", WORKFLOW_FILES), ("vendor.github-actions", ACTION_FILES)],
    ids=["workflows", "actions"],
)
def test_shipped_files_match_githubs_bundled_schema_offline(schema: str, files: list[Path]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        env=_offline_env(),
        check=False,
    )

    assert (done.returncode, done.stdout, done.stderr) == (0, "ok -- validation done\n", "")


@pytest.mark.parametrize("invocation", _shipped_invocations(), ids=lambda i: f"{i.file}:{i.where}")
def test_shipped_certgov_calls_use_only_real_commands_and_options(invocation: Invocation) -> None:
    findings = workflows.check(invocation.argv, cli)

    if findings and all(f.subject in PENDING for f in findings):
        pytest.xfail("not registered yet: " + "; ".join(f"certgov {f.subject}" for f in findings))
    assert findings == []


@pytest.mark.parametrize(
    "path",
    sorted(
        {
            tuple(w for w in i.argv[:2] if w in cli.commands or w == "status")
            for i in _shipped_invocations()
        }
        - {()}
    ),
    ids=" ".join,
)
def test_help_of_every_command_the_workflows_use_renders(path: tuple[str, ...]) -> None:
    if path[0] not in cli.commands:  # pragma: no cover - only until the command lands
        pytest.xfail(f"not registered yet: certgov {path[0]}")
    ctx = click.Context(cli, info_name="certgov", **cli.context_settings)
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
        ctx = click.Context(command, info_name=name, parent=ctx)
    usage = " ".join(("Usage:", ctx.command_path, *command.collect_usage_pieces(ctx)))

    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="certgov")

    assert (result.exit_code, result.output.splitlines()[0]) == (0, usage)


def test_the_workflows_call_each_command_the_gitops_issue_needs() -> None:
    used = {i.argv[0] for i in _shipped_invocations() if i.argv and not i.argv[0].startswith("$")}

    assert used == {
        "--version",
        "validate",
        "lint",
        "test",
        "plan",
        "comment",
        "apply",
        "drift",
        "snapshot",
        "environments",
        "server",  # audit-checkpoint, in drift (hardening-2, point 12)
    }


def test_no_workflow_runs_on_pull_request_target() -> None:
    triggers = {_relative(path): sorted(workflows.load(path)[True]) for path in WORKFLOW_FILES}

    assert triggers == {
        ".github/workflows/ci.yml": ["pull_request", "push"],
        "examples/github/apply.yml": ["push", "workflow_dispatch"],
        "examples/github/drift.yml": ["schedule", "workflow_dispatch"],
        "examples/github/plan.yml": ["pull_request"],
    }


def test_every_job_sets_its_own_permissions_under_an_empty_default() -> None:
    seen = {}
    for path in WORKFLOW_FILES:
        document = workflows.load(path)
        seen[_relative(path)] = (
            document["permissions"],
            {name: job["permissions"] for name, job in document["jobs"].items()},
        )

    assert seen == {
        ".github/workflows/ci.yml": (
            {},
            {"ci": {"contents": "read"}, "action": {"contents": "read"}},
        ),
        "examples/github/apply.yml": (
            {},
            {
                "reviewed-plan": {
                    "contents": "read",
                    "pull-requests": "read",
                    "actions": "read",
                },
                "apply": {"contents": "read"},
                "record": {"contents": "write"},
            },
        ),
        "examples/github/drift.yml": (
            {},
            {
                "environments": {"contents": "read"},
                "drift": {"contents": "read", "issues": "write"},
            },
        ),
        "examples/github/plan.yml": (
            {},
            {
                "check": {"contents": "read", "security-events": "write", "actions": "read"},
                "plan": {"contents": "read", "actions": "read"},
                "comment": {"pull-requests": "write"},
            },
        ),
    }


# `secrets.NAME`, or `secrets[format('{0}ROLE_FIELD', matrix.KEY)]`: the secret of that role
# of the matrix entry's environment (whose credentials_env is the prefix), read as <KEY>ROLE_FIELD.
SECRET = re.compile(r"secrets\.(\w+)|secrets\[format\('\{0\}(\w+)', matrix\.(\w+)\)\]")


def _held(job: dict[str, Any]) -> list[str]:
    envs = [job.get("env") or {}, *((s.get("env") or {}) for s in job["steps"])]
    return sorted(
        m[1] or f"<{m[3]}>{m[2]}"
        for env in envs
        for value in env.values()
        for m in SECRET.finditer(str(value))
    )


def _fields(prefix: str) -> list[str]:
    return [f"{prefix}_CLIENT_ID", f"{prefix}_CLIENT_SECRET", f"{prefix}_UUID"]


def test_each_set_of_clm_credentials_is_held_by_one_job_and_admin_ones_by_protected_jobs() -> None:
    holders = {}
    for path in WORKFLOW_FILES:
        for name, job in workflows.load(path)["jobs"].items():
            secrets = _held(job)
            if secrets:
                holders[f"{_relative(path)}:{name}"] = (job.get("environment"), secrets)

    notify = ["CERTGOV_NOTIFY_KEY", "CERTGOV_NOTIFY_URL"]
    own = "<credentials_env>"
    assert holders == {
        # Each environment's admin account, in that environment's GitHub environment only.
        "examples/github/apply.yml:apply": (
            "${{ matrix.name && format('certgov-{0}', matrix.name) || 'certgov-production' }}",
            [*_fields(f"{own}ADMIN"), *notify],
        ),
        # With, for the reference server's operators, the database and the checkpoint key
        # (read twice: whether they are set, then by the step that signs the checkpoint).
        "examples/github/drift.yml:drift": (
            "${{ matrix.name && format('certgov-drift-{0}', matrix.name) || 'certgov-drift' }}",
            [
                *[f"{own}AUDIT_DATABASE_URL"] * 2,
                *[f"{own}CHECKPOINT_KEY"] * 2,
                *_fields(f"{own}DRIFT"),
                *notify,
            ],
        ),
        # Read accounts only, its environment's and (the rollout gate) the one it waits for.
        "examples/github/plan.yml:plan": (
            None,
            [*_fields("<after_credentials_env>READ"), *_fields(f"{own}READ")],
        ),
    }


@pytest.mark.parametrize(
    ("entry", "apply", "drift"),
    [
        ({"name": None}, "certgov-production", "certgov-drift"),
        ({"name": "staging"}, "certgov-staging", "certgov-drift-staging"),
        ({"name": "production"}, "certgov-production", "certgov-drift-production"),
    ],
    ids=["without environments", "staging", "production"],
)
def test_each_environment_s_admin_jobs_run_in_a_github_environment_of_their_own(
    entry: dict[str, object], apply: str, drift: str
) -> None:
    found = [
        interpolate(workflows.load(ROOT / f"examples/github/{file}.yml")["jobs"][job]["environment"], {"matrix": entry})
        for file, job in (("apply", "apply"), ("drift", "drift"))
    ]  # fmt: skip

    assert found == [apply, drift]


def test_apply_runs_one_at_a_time_and_is_never_cancelled() -> None:
    document = workflows.load(ROOT / "examples/github/apply.yml")
    apply = document["jobs"]["apply"]

    assert document["concurrency"] == {"group": "certgov-apply", "cancel-in-progress": False}
    # One environment after the other, in the order of `certgov environments`, none after a
    # failure; and an environment that waits for another checks that its apply ran first.
    assert apply["strategy"] == {
        "max-parallel": 1,
        "fail-fast": True,
        "matrix": {"include": "${{ fromJSON(needs.reviewed-plan.outputs.environments) }}"},
    }
    assert apply["steps"][0] == {
        "name": "${{ matrix.wait_for && format('the apply of {0} in this run', matrix.wait_for)"
        " || 'no other environment to wait for' }}",
        "if": "matrix.wait_for",
        "uses": "actions/download-artifact@37930b1c2abaa49bbe596cd826c3c89aef350131",
        "with": {
            "name": "certgov-applied-${{ matrix.wait_for }}",
            "path": "${{ runner.temp }}/waited-for",
        },
    }


# -- pins ----------------------------------------------------------------------------------------

USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+?)(?:\s+#\s*(?P<comment>.*))?$")
OWN_ACTION = "OWNER/certgov/.github/actions/certgov@CERTGOV_COMMIT_SHA"
LOCK = ROOT / ".github/actions/certgov/requirements.txt"
LOCK_COMMAND = (
    "pip-compile --allow-unsafe --build-deps-for=wheel --generate-hashes --no-emit-index-url "
    "--output-file=.github/actions/certgov/requirements.txt --strip-extras pyproject.toml"
)


def _uses() -> list[tuple[str, str, str | None]]:
    """Every `uses:` of the shipped files as (file, reference, version comment)."""
    found = []
    for path in SHIPPED:
        for line in path.read_text(encoding="utf-8").splitlines():
            match = USES.match(line)
            if match:
                found.append((_relative(path), match["ref"], match["comment"]))
    return found


def test_every_third_party_action_is_pinned_by_commit_with_its_version_the_same_everywhere() -> (
    None
):
    pins: dict[str, dict[str, list[str]]] = {}  # action -> "sha # version" -> files
    unpinned = []
    for file, ref, comment in _uses():
        if ref.startswith("./") or ref.startswith("OWNER/certgov/"):
            continue
        action, _, sha = ref.partition("@")
        if re.fullmatch(r"[0-9a-f]{40}", sha) and re.fullmatch(r"v\d+\.\d+\.\d+", comment or ""):
            pins.setdefault(action, {}).setdefault(f"{sha} # {comment}", []).append(file)
        else:
            unpinned.append(f"{file}: {ref} # {comment}")

    assert unpinned == []
    # Dependabot moves the pins under .github/; the examples must carry the same ones.
    assert {action: found for action, found in pins.items() if len(found) > 1} == {}
    assert sorted(pins) == [
        "actions/checkout",
        "actions/download-artifact",
        "actions/setup-python",
        "actions/upload-artifact",
        "github/codeql-action/upload-sarif",
    ]


def test_the_examples_use_certgovs_action_pinned_by_the_commit_they_install() -> None:
    own = sorted(
        {
            (file.split("/")[0], ref, comment)
            for file, ref, comment in _uses()
            if ref.startswith("./") or ref.startswith("OWNER/certgov/")
        }
    )

    assert own == [
        (".github", "./.github/actions/certgov", None),
        ("examples", OWN_ACTION, f"v{__version__}"),
    ]


def _requirement_names(lines: list[str]) -> set[str]:
    return {
        re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower().replace("_", "-") for line in lines
    }


def test_the_actions_lock_pins_every_runtime_dependency_and_the_build_backend_with_hashes() -> None:
    text = LOCK.read_text(encoding="utf-8")
    hashed = re.findall(
        r"^([a-z0-9][a-z0-9._-]*)==\S+ \\\n(?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n)+",
        text,
        flags=re.MULTILINE,
    )
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    needed = _requirement_names(
        [*project["project"]["dependencies"], *project["build-system"]["requires"]]
    )

    assert f"#    {LOCK_COMMAND}\n" in text
    assert sorted(needed - set(hashed)) == []
    # Every requirement line of the file is one of them: none without hashes.
    assert len(hashed) == len(re.findall(r"^[a-z0-9]", text, flags=re.MULTILINE))


# The extras of pyproject.toml the action offers: all but those for developing certgov.
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
ACTION_EXTRAS = [e for e in PROJECT["optional-dependencies"] if e not in ("dev", "bench")]
HASHED = re.compile(
    r"^([a-z0-9][a-z0-9._-]*)==(\S+) \\\n((?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)",
    flags=re.MULTILINE,
)


def _lock(extra: str | None) -> Path:
    return LOCK.with_name(f"requirements-{extra}.txt") if extra else LOCK


def _pins(path: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """Each package of a lock: its version and the sha256 of its files."""
    return {
        name: (version, frozenset(re.findall(r"sha256:([0-9a-f]{64})", hashes)))
        for name, version, hashes in HASHED.findall(path.read_text(encoding="utf-8"))
    }


def _extra_lock_command(extra: str) -> str:
    """pip-compile for an extra's lock, constrained on the base lock and those of the extras
    before it in pyproject.toml, so that one version of a package serves them all."""
    before = [None, *ACTION_EXTRAS[: ACTION_EXTRAS.index(extra)]]
    relative = lambda path: path.relative_to(ROOT).as_posix()  # noqa: E731
    constraints = sorted(f"--constraint={relative(_lock(e))}" for e in before)
    return (
        f"pip-compile --allow-unsafe {' '.join(constraints)} --extra={extra} --generate-hashes "
        f"--no-emit-index-url --output-file={relative(_lock(extra))} --strip-extras pyproject.toml"
    )


def test_the_action_has_a_lock_for_each_extra_of_certgov_and_no_other() -> None:
    locks = sorted(p.name for p in LOCK.parent.glob("requirements-*.txt"))

    assert ACTION_EXTRAS == ["server", "vault", "aws", "azure", "gcp"]
    assert locks == sorted(f"requirements-{extra}.txt" for extra in ACTION_EXTRAS)


@pytest.mark.parametrize("extra", ACTION_EXTRAS)
def test_each_extras_lock_pins_what_the_extra_needs_with_hashes(extra: str) -> None:
    path = _lock(extra)
    text = path.read_text(encoding="utf-8")
    needed = _requirement_names(
        [*PROJECT["dependencies"], *PROJECT["optional-dependencies"][extra]]
    )

    assert f"#    {_extra_lock_command(extra)}\n" in text
    assert sorted(needed - set(_pins(path))) == []
    # Every requirement line of the file is pinned with hashes.
    assert len(_pins(path)) == len(re.findall(r"^[a-z0-9]", text, flags=re.MULTILINE))


def test_a_package_has_one_version_and_the_same_files_in_every_lock() -> None:
    seen: dict[str, dict[tuple[str, frozenset[str]], list[str]]] = {}
    for extra in [None, *ACTION_EXTRAS]:
        for name, pin in _pins(_lock(extra)).items():
            seen.setdefault(name, {}).setdefault(pin, []).append(_lock(extra).name)

    assert {
        name: {f"{version} ({len(files)} files)": locks for (version, files), locks in pins.items()}
        for name, pins in seen.items()
        if len(pins) > 1
    } == {}


def test_dependabot_keeps_the_action_pins_and_the_locks_current() -> None:
    path = ROOT / ".github/dependabot.yml"
    config = workflows.load(path)
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.dependabot", path],
        capture_output=True,
        text=True,
        env=_offline_env(),
        check=False,
    )

    assert (done.returncode, done.stdout) == (0, "ok -- validation done\n")
    # The pip entry's folder holds every lock: Dependabot reads each requirements*.txt there.
    assert [
        (u["package-ecosystem"], u.get("directories") or [u["directory"]], u.get("ignore"))
        for u in config["updates"]
    ] == [
        ("github-actions", ["/", "/.github/actions/certgov"], None),
        (
            "pip",
            ["/.github/actions/certgov"],
            # msal, of the azure extra, takes cryptography below 51 only.
            [{"dependency-name": "cryptography", "versions": [">=51"]}],
        ),
    ]


# -- finding certgov calls in scripts ------------------------------------------------------------


def test_certgov_calls_splits_statements_at_shell_operators() -> None:
    script = 'certgov plan . --out "$T/plan.json" > "$T/plan.md" && certgov comment --pr 3 | tee x'

    assert workflows.certgov_calls(script) == [
        ("plan", ".", "--out", "$T/plan.json"),
        ("comment", "--pr", "3"),
    ]


@pytest.mark.parametrize(
    "script",
    [
        "pip install certgov",
        'echo "certgov plan"',
        "# certgov plan",
        "python -m pip install certgov==0.1.0",
    ],
)
def test_certgov_calls_ignores_certgov_outside_command_position(script: str) -> None:
    assert workflows.certgov_calls(script) == []


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("FOO=1 certgov validate", [("validate",)]),
        ("if certgov validate .; then echo ok; fi", [("validate", ".")]),
        ('"$venv/bin/certgov" lint .', [("lint", ".")]),
        ("status=0\ncertgov drift . || status=$?", [("drift", ".")]),
        ("certgov plan . \\\n  --out x.json", [("plan", ".", "--out", "x.json")]),
        ("out=$(certgov plan --format json)", [("plan", "--format", "json")]),
    ],
)
def test_certgov_calls_finds_calls_in_command_position(
    script: str, expected: list[tuple[str, ...]]
) -> None:
    assert workflows.certgov_calls(script) == expected


def test_certgov_calls_reads_a_quote_across_lines() -> None:
    script = "echo 'a\nb'\ncertgov validate\necho 'never closed\n"

    assert workflows.certgov_calls(script) == [("validate",)]


def test_certgov_calls_treats_an_expression_as_one_word() -> None:
    script = "certgov comment --pr ${{ github.event.pull_request.number }} --file x"

    assert workflows.certgov_calls(script) == [("comment", "--pr", "${{}}", "--file", "x")]


def test_invocations_reads_run_scripts_and_uses_of_the_action() -> None:
    document = {
        "jobs": {
            "a": {
                "steps": [
                    {"uses": "actions/checkout@v4"},
                    {
                        "name": "lint",
                        "uses": "./.github/actions/certgov",
                        "with": {"command": "lint --format sarif", "path": "prod"},
                    },
                    {
                        "uses": "acme/certgov/.github/actions/certgov@v1",
                        "with": {"command": "validate"},
                    },
                    {"uses": "./.github/actions/certgov", "with": {"command": "x", "path": ""}},
                    {"uses": "./.github/actions/certgov", "with": {"version": "0.1.0"}},
                    {"run": "certgov plan ."},
                    "not a step",
                ]
            },
            "b": "not a job",
            "c": {"steps": "not a list"},
        }
    }

    assert workflows.invocations(document, "w.yml") == [
        Invocation("w.yml", "jobs.a.steps[1] (lint)", ("lint", "--format", "sarif", "prod")),
        Invocation("w.yml", "jobs.a.steps[2]", ("validate", ".")),
        Invocation("w.yml", "jobs.a.steps[3]", ("x",)),
        Invocation("w.yml", "jobs.a.steps[5]", ("plan", ".")),
    ]


def test_invocations_reads_the_steps_of_a_composite_action() -> None:
    document = {"runs": {"using": "composite", "steps": [{"run": "certgov --version"}]}}

    assert workflows.invocations(document, "action.yml") == [
        Invocation("action.yml", "runs.steps[0]", ("--version",))
    ]


@pytest.mark.parametrize("document", [None, [], "text", {"jobs": []}])
def test_invocations_of_something_that_is_no_workflow_is_empty(document: object) -> None:
    assert workflows.invocations(document, "x.yml") == []


# -- checking calls against commands -------------------------------------------------------------


@click.group()
@click.version_option("1.0")
def toy() -> None:
    """A toy CLI with the shapes certgov's commands have."""


@toy.command()
@click.argument("path", default=".")
@click.option("-o", "--out")
@click.option("--format", type=click.Choice(["text", "json"]))
@click.option("--detailed-exitcode", is_flag=True)
@click.option("-v", "--verbose", count=True)
def plan(
    path: str, out: str | None, format: str | None, detailed_exitcode: bool, verbose: int
) -> None:
    """Plan."""


@toy.group()
def rollout() -> None:
    """Rollouts."""


@rollout.command()
@click.option("--format", type=click.Choice(["text", "json"]))
def status(format: str | None) -> None:
    """Status."""


@pytest.mark.parametrize(
    "argv",
    [
        ("plan", ".", "--out", "p.json", "--format", "json", "--detailed-exitcode"),
        ("plan", "--format=text", "-vv", "--verbose", "-op.json"),
        ("plan", "--format", "$FORMAT"),
        ("plan", "$EXTRA_FLAGS"),
        ("plan", "--", "--not-an-option"),
        ("rollout", "status", "--format", "json"),
        ("$COMMAND", "--anything"),
        ("--version",),
        ("plan", "--help"),
    ],
)
def test_check_accepts_calls_the_commands_offer(argv: tuple[str, ...]) -> None:
    assert workflows.check(argv, toy) == []


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("drift", "."), [Finding("drift", "certgov has no command `drift`")]),
        (
            ("rollout", "promote"),
            [Finding("rollout promote", "certgov has no command `rollout promote`")],
        ),
        (("plan", "--nope"), [Finding("plan --nope", "`certgov plan` has no option --nope")]),
        (
            ("plan", "--format", "markdown", "--out"),
            [
                Finding(
                    "plan --format markdown",
                    "`certgov plan --format` takes text, json, not 'markdown'",
                ),
                Finding("plan --out", "`certgov plan --out` needs a value"),
            ],
        ),
        (
            ("rollout", "status", "--format=csv"),
            [
                Finding(
                    "rollout status --format csv",
                    "`certgov rollout status --format` takes text, json, not 'csv'",
                )
            ],
        ),
        (("--nope",), [Finding("--nope", "`certgov` has no option --nope")]),
    ],
)
def test_check_names_what_the_commands_lack(argv: tuple[str, ...], expected: list[Finding]) -> None:
    assert workflows.check(argv, toy) == expected


# -- the pre-commit hook -------------------------------------------------------------------------


def _write(tmp_path: Path, name: str, run: str) -> Path:
    path = tmp_path / name
    path.write_text(
        f"on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: {run}\n",
        encoding="utf-8",
    )
    return path


def test_hook_passes_good_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "ok.yml", "certgov validate . && certgov apply . --auto-approve")

    status = workflows_check.main([str(path), str(ROOT / ".github/actions/certgov/action.yml")])

    assert (status, capsys.readouterr()) == (0, ("", ""))


def test_hook_names_each_unknown_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "bad.yml", "certgov plan . --frmat json")

    status = workflows_check.main([str(path)])

    assert (status, capsys.readouterr().err) == (
        1,
        f"{path}: jobs.a.steps[0]: `certgov plan` has no option --frmat\n"
        "  in: certgov plan . --frmat json\n",
    )


def test_hook_reports_schema_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.yml"
    path.write_text("on: push\njobs:\n  a:\n    steps: []\n", encoding="utf-8")

    status = workflows_check.main([str(path)])

    err = capsys.readouterr().err
    assert (status, err.splitlines()[0]) == (1, "Schema validation errors were encountered.")


def test_hook_without_files_passes() -> None:
    assert workflows_check.main([]) == 0


def test_hook_runs_as_a_module(tmp_path: Path) -> None:
    path = _write(tmp_path, "ok.yml", "certgov validate .")

    done = subprocess.run(
        [sys.executable, "-m", "certgov.cli.workflows_check", str(path)],
        capture_output=True,
        text=True,
        env=_offline_env(),
        check=False,
    )

    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_the_pre_commit_hook_runs_this_module_on_workflow_and_action_files() -> None:
    hooks = {hook["id"]: hook for hook in workflows.load(ROOT / ".pre-commit-hooks.yaml")}
    hook = hooks["certgov-workflows"]
    candidates = [
        ".github/workflows/ci.yml",
        ".github/workflows/deploy.yaml",
        ".github/actions/certgov/action.yml",
        ".github/README.md",
        "examples/github/plan.yml",
        "policies/prod.yaml",
    ]

    selected = [c for c in candidates if re.search(hook["files"], c)]

    assert (hook["entry"], hook["language"], selected) == (
        "python -m certgov.cli.workflows_check",
        "python",
        [
            ".github/workflows/ci.yml",
            ".github/workflows/deploy.yaml",
            ".github/actions/certgov/action.yml",
        ],
    )
