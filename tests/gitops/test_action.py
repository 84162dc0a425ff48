"""The composite action's scripts, run by bash as the runner would, with a stand-in certgov.

The install step's pip calls are not run in most tests: a stand-in python logs them. Its choices
before that, and its reuse of a venv it made earlier in the job, run as they are. One slow test
runs the install for real, through the workflow runner, from the package index as a runner would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from certgov.gitops import workflows
from tests.gitops.github_fake import FakeGitHub, serving
from tests.gitops.workflow_runner import Repository, Runner

ROOT = Path(__file__).resolve().parents[2]
ACTION = workflows.load(ROOT / ".github/actions/certgov/action.yml")
INSTALL, RUN = (step["run"] for step in ACTION["runs"]["steps"][1:])

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="the action runs bash")

# A certgov that prints its arguments and exits with $FAKE_EXIT.
FAKE_CERTGOV = '#!/bin/sh\necho "certgov $*"\nexit "${FAKE_EXIT:-0}"\n'


def _runner(tmp_path: Path) -> dict[str, str]:
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    for name in ("path", "output"):
        (tmp_path / name).write_text("", encoding="utf-8")
    return {
        "PATH": os.environ["PATH"],
        "RUNNER_TEMP": str(temp),
        "GITHUB_PATH": str(tmp_path / "path"),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
    }


def _venv(env: dict[str, str], spec: str) -> Path:
    venv = Path(env["RUNNER_TEMP"]) / "certgov-venv"
    (venv / "bin").mkdir(parents=True)
    certgov = venv / "bin/certgov"
    certgov.write_text(FAKE_CERTGOV, encoding="utf-8")
    certgov.chmod(0o755)
    (venv / ".certgov-spec").write_text(spec, encoding="utf-8")
    return venv


def _bash(script: str, env: dict[str, str]) -> tuple[int, str, str]:
    done = subprocess.run(
        ["bash", "-e", "-c", script], env=env, capture_output=True, text=True, check=False
    )
    return done.returncode, done.stdout, done.stderr


def _run_step(env: dict[str, str], command: str, path: str = ".", ok: str = "0") -> tuple:
    step_env = {
        **env,
        "CERTGOV_COMMAND": command,
        "CERTGOV_PATH": path,
        "CERTGOV_URL_INPUT": "",
        "OK_EXIT_CODES": ok,
    }
    return _bash(RUN, step_env)


def _output(tmp_path: Path) -> str:
    return (tmp_path / "output").read_text(encoding="utf-8")


def test_run_passes_the_command_words_then_the_path(tmp_path: Path) -> None:
    env = _runner(tmp_path)
    _venv(env, "certgov==0.1.0")

    result = _run_step(env, "lint  --format sarif --output lint.sarif", path="my decls")

    assert result == (0, "certgov lint --format sarif --output lint.sarif my decls\n", "")
    assert _output(tmp_path) == "exit-code=0\n"


def test_run_without_a_path_passes_only_the_command(tmp_path: Path) -> None:
    env = _runner(tmp_path)
    _venv(env, "certgov==0.1.0")

    assert _run_step(env, "rollout status", path="") == (0, "certgov rollout status\n", "")


def test_run_fails_the_step_with_the_commands_exit_code(tmp_path: Path) -> None:
    env = {**_runner(tmp_path), "FAKE_EXIT": "3"}
    _venv(env, "certgov==0.1.0")

    result = _run_step(env, "plan")

    assert (result, _output(tmp_path)) == ((3, "certgov plan .\n", ""), "exit-code=3\n")


def test_run_accepts_the_listed_exit_codes(tmp_path: Path) -> None:
    env = {**_runner(tmp_path), "FAKE_EXIT": "4"}
    _venv(env, "certgov==0.1.0")

    result = _run_step(env, "drift", ok="0 2 4 6")

    assert (result, _output(tmp_path)) == ((0, "certgov drift .\n", ""), "exit-code=4\n")


def test_run_sets_certgov_url_from_the_url_input(tmp_path: Path) -> None:
    env = _runner(tmp_path)
    venv = _venv(env, "certgov==0.1.0")
    (venv / "bin/certgov").write_text('#!/bin/sh\necho "$CERTGOV_URL"\n', encoding="utf-8")
    step_env = {
        **env,
        "CERTGOV_COMMAND": "plan",
        "CERTGOV_PATH": ".",
        "CERTGOV_URL_INPUT": "https://clm.test",
        "OK_EXIT_CODES": "0",
    }

    assert _bash(RUN, step_env) == (0, "https://clm.test\n", "")


def test_run_sets_certgov_env_from_the_environment_input(tmp_path: Path) -> None:
    env = _runner(tmp_path)
    venv = _venv(env, "certgov==0.1.0")
    (venv / "bin/certgov").write_text('#!/bin/sh\necho "$CERTGOV_ENV: $*"\n', encoding="utf-8")
    step_env = {
        **env,
        "CERTGOV_COMMAND": "plan",
        "CERTGOV_PATH": ".",
        "CERTGOV_URL_INPUT": "",
        "CERTGOV_ENV_INPUT": "staging",
        "OK_EXIT_CODES": "0",
    }

    assert _bash(RUN, step_env) == (0, "staging: plan .\n", "")
    assert _bash(RUN, {**step_env, "CERTGOV_ENV_INPUT": "", "CERTGOV_ENV": "production"}) == (
        0,
        "production: plan .\n",
        "",
    )


def _install(env: dict[str, str], *, source: str = "", action: str = "", extras: str = "") -> tuple:
    step_env = {**env, "CERTGOV_SOURCE": source, "CERTGOV_EXTRAS": extras, "ACTION_PATH": action}
    return _bash(INSTALL, step_env)


def test_install_refuses_a_source_folder_without_certgov(tmp_path: Path) -> None:
    env = _runner(tmp_path)
    action = tmp_path / "user-repo/.github/actions/certgov"
    action.mkdir(parents=True)

    assert _install(env, action=str(action)) == (
        1,
        f"::error title=certgov::no certgov source at {action}/../../..: use the action from "
        "certgov's repository (OWNER/certgov/.github/actions/certgov@SHA), or set the source "
        "input\n",
        "",
    )


def test_install_reuses_the_venv_made_for_the_same_source(tmp_path: Path) -> None:
    env = _runner(tmp_path)
    venv = _venv(env, str(ROOT))

    result = _install(env, source=str(ROOT), action=str(ROOT / ".github/actions/certgov"))

    assert result == (0, "certgov --version\n", "")
    assert (tmp_path / "path").read_text(encoding="utf-8") == f"{venv}/bin\n"


def test_install_from_the_actions_own_checkout_by_default(tmp_path: Path) -> None:
    env = _runner(tmp_path)
    _venv(env, str(ROOT))

    result = _install(env, action=str(ROOT / ".github/actions/certgov"))

    assert result == (0, "certgov --version\n", "")


# A `python` whose `-m venv --clear DIR` makes DIR/bin/python, which logs its arguments instead
# of installing, and DIR/bin/certgov.
FAKE_PYTHON = """#!/bin/sh
if [ "$1 $2 $3" = "-m venv --clear" ]; then
  mkdir -p "$4/bin"
  printf '#!/bin/sh\\necho "python $*" >> "%s/pip.log"\\n' "$4" > "$4/bin/python"
  printf '#!/bin/sh\\necho "certgov $*"\\n' > "$4/bin/certgov"
  chmod +x "$4/bin/python" "$4/bin/certgov"
fi
"""


ACTION_DIR = ROOT / ".github/actions/certgov"
PIP = "python -m pip install --quiet --disable-pip-version-check"


def _fake_python(env: dict[str, str], tmp_path: Path) -> Path:
    """FAKE_PYTHON first on PATH; the venv whose pip.log will tell what was installed."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").write_text(FAKE_PYTHON, encoding="utf-8")
    (bin_dir / "python").chmod(0o755)
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    return Path(env["RUNNER_TEMP"]) / "certgov-venv"


def _installed(venv: Path) -> tuple[str, str]:
    """What the fake venv's pip log and spec say after an install."""
    return (
        (venv / "pip.log").read_text(encoding="utf-8"),
        (venv / ".certgov-spec").read_text(encoding="utf-8"),
    )


def _pip_log(*extras: str) -> str:
    locks = "".join(f" -r {ACTION_DIR}/requirements-{extra}.txt" for extra in extras)
    return (
        f"{PIP} --require-hashes -r {ACTION_DIR}/requirements.txt{locks}\n"
        f"{PIP} --no-deps --no-build-isolation {ROOT}\n"
    )


def test_install_checks_every_dependency_against_the_lock_then_builds_certgov_offline(
    tmp_path: Path,
) -> None:
    env = _runner(tmp_path)
    venv = _fake_python(env, tmp_path)

    result = _install(env, action=str(ACTION_DIR))

    assert result == (0, "certgov --version\n", "")
    assert _installed(venv) == (_pip_log(), f"{ROOT}\n\n")


def test_install_takes_each_extra_from_its_own_lock_in_one_pip_call(tmp_path: Path) -> None:
    env = _runner(tmp_path)
    venv = _fake_python(env, tmp_path)

    result = _install(env, action=str(ACTION_DIR), extras="vault, server\naws")

    assert result == (0, "certgov --version\n", "")
    # In the order of the locks; the spec remembers them for the next use of the action.
    assert _installed(venv) == (_pip_log("aws", "server", "vault"), f"{ROOT}\naws server vault\n")


def test_install_refuses_an_extra_without_a_lock_naming_those_there_are(tmp_path: Path) -> None:
    env = _runner(tmp_path)
    venv = _fake_python(env, tmp_path)

    result = _install(env, action=str(ACTION_DIR), extras="server,bench")

    assert result == (
        1,
        "::error title=certgov::certgov has no extra 'bench' to install: the extras input takes "
        "aws azure gcp server vault\n",
        "",
    )
    assert not venv.exists()


@pytest.mark.parametrize("asked", ["", "server", "vault server"])
def test_install_reuses_a_venv_that_holds_every_extra_asked_for(tmp_path: Path, asked: str) -> None:
    env = _runner(tmp_path)
    venv = _venv(env, f"{ROOT}\nserver vault\n")

    result = _install(env, action=str(ACTION_DIR), extras=asked)

    assert (result, (venv / "pip.log").exists()) == ((0, "certgov --version\n", ""), False)


def test_a_later_use_with_another_extra_installs_anew_with_the_extras_of_both(
    tmp_path: Path,
) -> None:
    env = _runner(tmp_path)
    venv = _fake_python(env, tmp_path)
    _venv(env, f"{ROOT}\nserver\n")

    result = _install(env, action=str(ACTION_DIR), extras="gcp")

    assert result == (0, "certgov --version\n", "")
    assert _installed(venv) == (_pip_log("gcp", "server"), f"{ROOT}\ngcp server\n")


def test_a_venv_made_from_another_source_is_made_anew_without_its_extras(tmp_path: Path) -> None:
    env = _runner(tmp_path)
    venv = _fake_python(env, tmp_path)
    _venv(env, f"{tmp_path}/other-certgov\nserver\n")

    result = _install(env, action=str(ACTION_DIR), extras="vault")

    assert result == (0, "certgov --version\n", "")
    assert _installed(venv) == (_pip_log("vault"), f"{ROOT}\nvault\n")


# A job that installs certgov with the server extra, then uses it. The runner stands in for
# setup-python with nothing: the first step puts the Python running these tests on PATH instead.
SERVER_EXTRA_WORKFLOW = """name: server extra
on: workflow_dispatch
permissions: {{}}
jobs:
  server:
    runs-on: ubuntu-latest
    timeout-minutes: 15
    permissions: {{}}
    steps:
      - name: the Python setup-python would give
        env:
          PYTHON_BIN: {python_bin}
        run: echo "$PYTHON_BIN" >> "$GITHUB_PATH"
      - uses: OWNER/certgov/.github/actions/certgov@CERTGOV_COMMIT_SHA
        with:
          extras: server
      - name: certgov server --help
        run: certgov server --help
      - name: pip check
        run: python -m pip check
"""


@pytest.mark.slow  # 30 to 90 s: downloads and installs the locked packages
def test_the_install_step_with_the_server_extra_makes_certgov_server_work(tmp_path: Path) -> None:
    python_bin = tmp_path / "python-bin"
    python_bin.mkdir()
    (python_bin / "python").symlink_to(Path(sys.base_prefix, "bin", "python3"))
    workflow = tmp_path / "server-extra.yml"
    workflow.write_text(SERVER_EXTRA_WORKFLOW.format(python_bin=python_bin), encoding="utf-8")
    with serving(FakeGitHub()) as github:
        repo = Repository.create("acme/certs", tmp_path / "github", github)
        repo.commit("main", {"README.md": "declarations\n"}, "a repository")
        # No certgov given: the action's install step makes the venv itself.
        runner = Runner(repo, tmp_path / "runs", ROOT, None)

        run = runner.run(workflow, "server-extra.yml", repo.dispatch_event("main"))

    assert run.conclusion == "success", run.failures()
    _, install, help_, check = run.jobs["server"].steps
    assert install.outcome == "success"
    venv = tmp_path / "runs/01-server/temp/certgov-venv"
    assert (venv / ".certgov-spec").read_text(encoding="utf-8") == f"{ROOT}\nserver\n"
    assert help_.log.splitlines()[0] == "Usage: certgov server [OPTIONS] [COMMAND] [ARGS]..."
    assert check.log == "No broken requirements found.\n"
