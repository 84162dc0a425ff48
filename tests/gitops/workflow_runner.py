"""Runs the jobs of a GitHub workflow file as a runner would, on this machine.

Each job's `run:` steps run in order with bash (`bash -e {0}`, or `bash --noprofile --norc -eo
pipefail {0}` under `shell: bash`, as GitHub runs them) in a fresh workspace and RUNNER_TEMP, with
a runner's environment: the default GITHUB_* variables and CI=true, the workflow's, job's and
step's `env:`, and the GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH and GITHUB_STEP_SUMMARY files, read
after each step. `${{ }}` goes through `tests.gitops.expressions`, with only the contexts GitHub
offers where the expression stands. `on:` (with its branch filters), `if:`, `needs:`, job
`outputs:`, `permissions:` (the job's token carries exactly them, and the GitHub fake enforces
them), `environment:` (its secrets, its deployment branches, its required reviewers, who approve
unless the runner's `review` says otherwise) and `timeout-minutes:` are honoured; a key the
runner does not know is refused rather than ignored.

`strategy:` runs a job once per combination of its `matrix` (dimensions, `include`, `exclude`,
or one `${{ fromJSON(...) }}`), in matrix order, `max-parallel` at a time (default: all at once)
and, with `fail-fast` (the default), none started after one failed (they are `cancelled`). Jobs
run one after another here, so each records which jobs had finished when it started
(`Job.after`): two instances of one wave never count as ordered. A matrix job's result for
`needs` is `failure` if any instance failed, its outputs those its instances set, in order.

Only third-party actions are stood in for: actions/checkout (the repository fetched from its
git remote at the event's ref, `fetch-depth` honoured), upload/download-artifact (a zip
registered with the GitHub fake, which lists and serves it through its API), setup-python and
upload-sarif (recorded, nothing done). certgov's own composite action runs for real: its steps
are `run:` steps like the job's.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from itertools import product
from pathlib import Path
from typing import Any

from certgov.gitops import workflows
from tests.gitops.expressions import Status, as_text, condition, interpolate, value_of
from tests.gitops.github_fake import FakeGitHub

SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
STEP_TIMEOUT = 300.0  # seconds; a job's timeout-minutes caps it further
OWN_ACTION = re.compile(r"^(\./|[^/]+/certgov/)\.github/actions/certgov(@.+)?$")
ANNOTATION = re.compile(r"^::(error|warning|notice)(?: [^:]*)?::(.*)$")

WORKFLOW_KEYS = {"name", "on", True, "permissions", "concurrency", "env", "jobs"}
JOB_KEYS = {
    "name", "needs", "if", "runs-on", "timeout-minutes", "permissions", "environment", "env",
    "outputs", "steps", "strategy",
}  # fmt: skip
STRATEGY_KEYS = {"matrix", "fail-fast", "max-parallel"}
STEP_KEYS = {"name", "id", "if", "uses", "with", "run", "env", "shell", "working-directory"}
STAND_IN_INPUTS = {
    "actions/checkout": {"fetch-depth", "persist-credentials"},
    "actions/setup-python": {"python-version"},
    "actions/upload-artifact": {"name", "path", "if-no-files-found", "retention-days"},
    "actions/download-artifact": {"name", "path", "pattern", "merge-multiple"},
    "github/codeql-action/upload-sarif": {"sarif_file", "category"},
}

# Where each context may be used (GitHub's "context availability" table, for the keys used).
WORKFLOW_ENV = ("github", "secrets", "inputs", "vars")
JOB_IF = ("github", "needs", "vars", "inputs")
STRATEGY = JOB_IF
JOB_NAME = ("github", "needs", "strategy", "matrix", "vars", "inputs")  # name, environment
JOB_ENV = ("github", "needs", "strategy", "matrix", "vars", "secrets", "inputs")
STEP_IF = (*JOB_NAME, "steps", "env", "runner", "job")
STEP_VALUES = (*STEP_IF, "secrets")
COMPOSITE = ("github", "inputs", "steps", "env", "runner", "job")


class RunnerError(Exception):
    """A workflow this runner does not understand, or cannot run as GitHub would."""


def git(*args: str, cwd: Path | None = None) -> str:
    env = {
        "PATH": SYSTEM_PATH,
        "HOME": "/nonexistent",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Dev",
        "GIT_AUTHOR_EMAIL": "dev@example.test",
        "GIT_COMMITTER_NAME": "Dev",
        "GIT_COMMITTER_EMAIL": "dev@example.test",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise RunnerError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


@dataclass
class Environment:
    """A deployment environment: its secrets, and the branches that may deploy to it."""

    secrets: dict[str, str] = field(default_factory=dict)
    branches: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()


@dataclass
class Event:
    """What triggered a run: GITHUB_EVENT_NAME, GITHUB_REF, GITHUB_SHA and the payload."""

    name: str
    ref: str
    sha: str
    payload: dict[str, Any]
    head_sha: str
    head_branch: str
    inputs: dict[str, str] = field(default_factory=dict)


@dataclass
class Repository:
    """The GitHub side of a repository: its git remote, settings and pull requests."""

    name: str
    origin: Path
    scratch: Path
    github: FakeGitHub
    default_branch: str = "main"
    vars: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    environments: dict[str, Environment] = field(default_factory=dict)

    @classmethod
    def create(cls, name: str, root: Path, github: FakeGitHub) -> Repository:
        origin, scratch = root / "origin.git", root / "scratch"
        git("init", "-q", "--bare", "-b", "main", str(origin))
        # GitHub serves any commit by its sha, as actions/checkout fetches it.
        git("config", "uploadpack.allowAnySHA1InWant", "true", cwd=origin)
        git("clone", "-q", f"file://{origin}", str(scratch))
        github.add_repo(name)
        return cls(name, origin, scratch, github)

    def sha(self, ref: str) -> str:
        return git("rev-parse", ref, cwd=self.origin)

    def commit(self, branch: str, files: Mapping[str, str | None], message: str) -> str:
        """Commit these files (None: delete) on `branch` (new: from the default branch); push."""
        git("fetch", "-q", "origin", cwd=self.scratch)
        known = git("branch", "-r", "--list", f"origin/{branch}", cwd=self.scratch)
        start = f"origin/{branch}" if known else f"origin/{self.default_branch}"
        if not git("branch", "-r", cwd=self.scratch):
            git("checkout", "-q", "--orphan", branch, cwd=self.scratch)
        else:
            git("checkout", "-q", "-B", branch, start, cwd=self.scratch)
        for path, text in files.items():
            target = self.scratch / path
            if text is None:
                target.unlink()
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
        git("add", "-A", cwd=self.scratch)
        git("commit", "-q", "-m", message, cwd=self.scratch)
        git("push", "-q", "origin", f"{branch}:refs/heads/{branch}", cwd=self.scratch)
        return git("rev-parse", "HEAD", cwd=self.scratch)

    def open_pull_request(self, branch: str) -> int:
        number = self.github.add_pull_request(
            self.name, head_sha=self.sha(branch), head_ref=branch, base_ref=self.default_branch
        )
        self._pull_refs(number)
        return number

    def _pull_refs(self, number: int) -> str:
        """refs/pull/N/head and refs/pull/N/merge (the test merge GitHub makes); its sha."""
        pull = self.github.pull_request(self.name, number)
        head = self.sha(f"refs/heads/{pull['head']['ref']}")
        pull["head"]["sha"] = head
        git("fetch", "-q", "origin", cwd=self.scratch)
        git("checkout", "-q", "--detach", f"origin/{self.default_branch}", cwd=self.scratch)
        git("merge", "-q", "--no-ff", "--no-edit", head, cwd=self.scratch)
        git("push", "-q", "-f", "origin", f"{head}:refs/pull/{number}/head", cwd=self.scratch)
        git("push", "-q", "-f", "origin", f"HEAD:refs/pull/{number}/merge", cwd=self.scratch)
        return git("rev-parse", "HEAD", cwd=self.scratch)

    def pull_request_event(self, number: int, action: str) -> Event:
        merge = self._pull_refs(number)
        pull = self.github.pull_request(self.name, number)
        payload = {
            "action": action,
            "number": number,
            "pull_request": {"number": number, "head": pull["head"], "base": pull["base"]},
            "repository": self._payload_repository(),
        }
        return Event(
            "pull_request",
            f"refs/pull/{number}/merge",
            merge,
            payload,
            head_sha=pull["head"]["sha"],
            head_branch=pull["head"]["ref"],
        )

    def merge_pull_request(self, number: int) -> Event:
        """Merge with a merge commit on the default branch; the push event it makes."""
        pull = self.github.pull_request(self.name, number)
        before = self.sha(f"refs/heads/{self.default_branch}")
        git("fetch", "-q", "origin", cwd=self.scratch)
        git(
            "checkout",
            "-q",
            "-B",
            self.default_branch,
            f"origin/{self.default_branch}",
            cwd=self.scratch,
        )
        message = f"Merge pull request #{number} from {pull['head']['ref']}"
        git("merge", "-q", "--no-ff", "-m", message, pull["head"]["sha"], cwd=self.scratch)
        git("push", "-q", "origin", self.default_branch, cwd=self.scratch)
        after = git("rev-parse", "HEAD", cwd=self.scratch)
        self.github.merge_pull_request(self.name, number, after)
        return self.push_event(before, after)

    def push_event(self, before: str, after: str) -> Event:
        ref = f"refs/heads/{self.default_branch}"
        payload = {"ref": ref, "before": before, "after": after}
        payload["repository"] = self._payload_repository()
        return Event("push", ref, after, payload, after, self.default_branch)

    def schedule_event(self, cron: str) -> Event:
        sha = self.sha(f"refs/heads/{self.default_branch}")
        payload = {"schedule": cron, "repository": self._payload_repository()}
        ref = f"refs/heads/{self.default_branch}"
        return Event("schedule", ref, sha, payload, sha, self.default_branch)

    def dispatch_event(self, branch: str, inputs: dict[str, str] | None = None) -> Event:
        """Run workflow (workflow_dispatch) on an existing branch."""
        ref = f"refs/heads/{branch}"
        sha = self.sha(ref)
        payload = {"ref": ref, "inputs": inputs or {}, "repository": self._payload_repository()}
        return Event("workflow_dispatch", ref, sha, payload, sha, branch, dict(inputs or {}))

    def _payload_repository(self) -> dict[str, Any]:
        owner = self.name.split("/")[0]
        return {
            "full_name": self.name,
            "default_branch": self.default_branch,
            "owner": {"login": owner},
        }


@dataclass
class Step:
    name: str
    outcome: str  # success, failure or skipped
    outputs: dict[str, str] = field(default_factory=dict)
    log: str = ""
    annotations: list[str] = field(default_factory=list)


@dataclass
class Job:
    """A job as `needs` sees it; for a matrix job, its `instances` (one per combination), whose
    steps and summaries it holds too, in order."""

    id: str
    result: str  # success, failure, cancelled or skipped
    outputs: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    summary: str = ""
    name: str = ""
    matrix: dict[str, Any] = field(default_factory=dict)
    after: tuple[str, ...] = ()  # the jobs (by name) that had finished when this one started
    instances: list[Job] = field(default_factory=list)

    def instance(self, name: str) -> Job:
        (found,) = [j for j in self.instances if j.name == name]
        return found


@dataclass
class Run:
    id: int
    workflow: str
    event: str
    conclusion: str = "success"
    jobs: dict[str, Job] = field(default_factory=dict)
    stand_ins: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)  # job names, in the order they finished

    def line(self) -> str:
        jobs = ", ".join(
            f"{one.name or name} {one.result}"
            for name, job in self.jobs.items()
            for one in (job.instances or [job])
        )
        return f"{self.workflow} ({self.event}, run {self.id}): {self.conclusion} [{jobs}]"

    def failures(self) -> str:
        """The log of every failed step, for an assertion message."""
        return "\n".join(
            f"--- {one.name or one.id} / {step.name}\n{step.log}"
            for job in self.jobs.values()
            for one in (job.instances or [job])
            for step in one.steps
            if step.outcome == "failure"
        )


@dataclass
class _Scope:
    """Where steps run: a job, or a composite action inside one (its own steps and inputs)."""

    job_id: str
    contexts: dict[str, Any]
    env: dict[str, str]
    workspace: Path
    temp: Path
    files: Path
    deadline: float
    run: Run
    steps: dict[str, Any] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)  # GITHUB_PATH, shared with nested scopes
    summary: list[str] = field(default_factory=list)
    failed: bool = False
    action_path: str = ""

    def view(self, allowed: tuple[str, ...]) -> dict[str, Any]:
        every = {**self.contexts, "steps": self.steps, "env": self.env}
        return {name: every[name] for name in allowed if name in every}


class Runner:
    """Runs workflows of one repository; `certgov` (an executable) stands for the action's venv."""

    def __init__(
        self,
        repo: Repository,
        workdir: Path,
        action_root: Path,
        certgov: Path | None,
        review: Callable[[str, str], bool] | None = None,
    ) -> None:
        self.repo = repo
        self.workdir = workdir
        self.action_root = action_root
        self.certgov = certgov
        # A required reviewer's answer for (environment, job name); without it, they approve.
        self.review = review
        self.counter = 0

    # -- runs and jobs ---------------------------------------------------------------------------

    def run(self, workflow_file: Path, installed_as: str, event: Event) -> Run:
        """Run `workflow_file` (copied to .github/workflows/`installed_as`) for `event`."""
        document = workflows.load(workflow_file)
        _known(document, WORKFLOW_KEYS, str(workflow_file))
        self._check_trigger(document[True], event)
        github = self.repo.github
        run_id = github.add_run(
            self.repo.name,
            workflow=installed_as,
            event=event.name,
            head_sha=event.head_sha,
            head_branch=event.head_branch,
        )
        run = Run(run_id, document.get("name", installed_as), event.name)
        results: dict[str, Job] = {}
        for job_id, job in document["jobs"].items():
            _known(job, JOB_KEYS, f"jobs.{job_id}")
            needs = job.get("needs", [])
            needs = [needs] if isinstance(needs, str) else list(needs)
            missing = [n for n in needs if n not in results]
            if missing:
                raise RunnerError(f"jobs.{job_id} needs {missing}, which do not run before it")
            results[job_id] = self._job(
                document, job_id, job, {n: results[n] for n in needs}, event, run
            )
        run.jobs = results
        failed = any(j.result in ("failure", "cancelled") for j in results.values())
        run.conclusion = "failure" if failed else "success"
        github.finish_run(self.repo.name, run_id, run.conclusion)
        return run

    def _check_trigger(self, on: Any, event: Event) -> None:
        triggers = {on: None} if isinstance(on, str) else dict(on)
        if event.name not in triggers:
            raise RunnerError(f"the workflow does not run on {event.name}")
        settings = triggers[event.name]
        if event.name == "schedule":
            if {"cron": event.payload["schedule"]} not in settings:
                raise RunnerError(f"the workflow has no schedule {event.payload['schedule']!r}")
            return
        branches = (settings or {}).get("branches")
        base = event.payload.get("pull_request", {}).get("base", {}).get("ref")
        branch = base or event.ref.removeprefix("refs/heads/")
        if branches is not None and branch not in branches:
            raise RunnerError(f"the workflow's {event.name} trigger does not match {branch}")

    def _job(
        self,
        document: dict[str, Any],
        job_id: str,
        job: dict[str, Any],
        needs: dict[str, Job],
        event: Event,
        run: Run,
    ) -> Job:
        needs_context = {n: {"result": j.result, "outputs": j.outputs} for n, j in needs.items()}
        contexts: dict[str, Any] = {
            "github": self._github_context(event, run, job_id),
            "needs": needs_context,
            "vars": dict(self.repo.vars),
            "inputs": dict(event.inputs),
        }
        status = Status(failed=any(j.result != "success" for j in needs.values()))
        if not condition(job.get("if", "success()"), _only(contexts, JOB_IF), status):
            return Job(job_id, "skipped", name=job_id)
        if "strategy" not in job:
            done = self._instance(document, job_id, job, contexts, {}, event, run)
            run.finished.append(done.name)
            return done
        strategy = job["strategy"]
        _known(strategy, STRATEGY_KEYS, f"jobs.{job_id}.strategy")
        allowed = _only(contexts, STRATEGY)
        spec = value_of(strategy["matrix"], allowed)
        if isinstance(spec, dict):
            spec = {key: value_of(value, allowed) for key, value in spec.items()}
        combinations = matrix_combinations(spec, job_id)
        if not combinations:
            message = f"Error when evaluating 'strategy' for job '{job_id}': the matrix is empty"
            return Job(job_id, "failure", steps=[Step("strategy", "failure", log=message)])
        fail_fast = bool(value_of(strategy.get("fail-fast", True), allowed))
        parallel = int(value_of(strategy.get("max-parallel", len(combinations)), allowed))
        instances: list[Job] = []
        for first in range(0, len(combinations), max(parallel, 1)):
            wave = [
                (
                    combination,
                    {
                        "fail-fast": fail_fast,
                        "job-index": index,
                        "job-total": len(combinations),
                        "max-parallel": parallel,
                    },
                )
                for index, combination in enumerate(combinations)
            ][first : first + max(parallel, 1)]
            if fail_fast and any(i.result == "failure" for i in instances):
                for combination, strategy_context in wave:
                    each = {**contexts, "strategy": strategy_context, "matrix": combination}
                    name = _job_name(job_id, job, each)
                    instances.append(Job(job_id, "cancelled", name=name, matrix=combination))
                continue
            started = tuple(run.finished)
            for combination, strategy_context in wave:
                each = {**contexts, "strategy": strategy_context, "matrix": combination}
                done = self._instance(document, job_id, job, each, combination, event, run)
                done.after = started
                instances.append(done)
            run.finished.extend(i.name for i in instances[-len(wave) :])
        results = {i.result for i in instances}
        result = next((r for r in ("failure", "cancelled") if r in results), "success")
        outputs: dict[str, str] = {}
        for instance in instances:
            outputs.update((k, v) for k, v in instance.outputs.items() if v)
        return Job(
            job_id,
            result,
            outputs,
            [step for i in instances for step in i.steps],
            "".join(i.summary for i in instances),
            name=job_id,
            instances=instances,
        )

    def _instance(
        self,
        document: dict[str, Any],
        job_id: str,
        job: dict[str, Any],
        contexts: dict[str, Any],
        combination: dict[str, Any],
        event: Event,
        run: Run,
    ) -> Job:
        """One run of a job (of one matrix combination): `contexts` holds its matrix."""
        contexts = {
            "strategy": {"fail-fast": True, "job-index": 0, "job-total": 1, "max-parallel": 1},
            "matrix": {},
            **contexts,
            "github": dict(contexts["github"]),
        }
        github_context = contexts["github"]
        name = _job_name(job_id, job, contexts)
        started = tuple(run.finished)
        secrets = dict(self.repo.secrets)
        approval = ""
        if "environment" in job:
            environment_name = as_text(interpolate(job["environment"], _only(contexts, JOB_NAME)))
            environment = self.repo.environments.get(environment_name)
            if environment is None:
                raise RunnerError(
                    f"jobs.{job_id}: no environment {environment_name!r} in the repository"
                )
            branch = event.ref.removeprefix("refs/heads/")
            if environment.branches and branch not in environment.branches:
                message = (
                    f'Branch "{branch}" is not allowed to deploy to {environment_name} due to '
                    "environment protection rules."
                )
                step = Step("environment", "failure", log=message)
                return Job(job_id, "failure", steps=[step], name=name, matrix=combination)
            secrets.update(environment.secrets)
            if environment.reviewers:
                reviewer = environment.reviewers[0]
                if self.review is not None and not self.review(environment_name, name):
                    message = f"deployment to {environment_name} rejected by {reviewer}"
                    step = Step("environment", "failure", log=message)
                    return Job(job_id, "failure", steps=[step], name=name, matrix=combination)
                approval = f"deployment to {environment_name} approved by {reviewer}"
        permissions = job.get("permissions", document.get("permissions", {}))
        if not isinstance(permissions, dict):
            raise RunnerError(f"jobs.{job_id}: permissions {permissions!r} are not supported")
        token = self.repo.github.grant(permissions)
        github_context["token"] = token
        secrets["GITHUB_TOKEN"] = token
        contexts["secrets"] = secrets
        env = {
            k: as_text(interpolate(v, _only(contexts, WORKFLOW_ENV)))
            for k, v in (document.get("env") or {}).items()
        }
        env.update(
            (k, as_text(interpolate(v, _only(contexts, JOB_ENV))))
            for k, v in (job.get("env") or {}).items()
        )
        self.counter += 1
        root = self.workdir / f"{self.counter:02d}-{job_id}"
        scope = _Scope(
            job_id=job_id,
            contexts={**contexts, "runner": {}, "job": {"status": "success"}},
            env=env,
            workspace=root / "workspace",
            temp=root / "temp",
            files=root / "files",
            deadline=float(job.get("timeout-minutes", 360)) * 60,
            run=run,
        )
        for folder in (scope.workspace, scope.temp, scope.files, root / "home"):
            folder.mkdir(parents=True)
        scope.contexts["runner"] = {"temp": str(scope.temp), "os": "Linux", "arch": "X64"}
        github_context["workspace"] = str(scope.workspace)
        (scope.files / "event.json").write_text(json.dumps(event.payload), encoding="utf-8")
        self._seed_certgov(scope.temp)
        steps = self._steps(job["steps"], scope)
        if approval:
            steps.insert(0, Step("environment", "success", log=approval))
        outputs = {
            k: as_text(interpolate(v, scope.view(STEP_VALUES)))
            for k, v in (job.get("outputs") or {}).items()
        }
        result = "failure" if scope.failed else "success"
        summary = "".join(scope.summary)
        return Job(job_id, result, outputs, steps, summary, name, combination, started)

    def _github_context(self, event: Event, run: Run, job_id: str) -> dict[str, Any]:
        pull = event.payload.get("pull_request", {})
        return {
            "event_name": event.name,
            "event": event.payload,
            "ref": event.ref,
            "ref_name": event.ref.removeprefix("refs/heads/"),
            "sha": event.sha,
            "repository": self.repo.name,
            "repository_owner": self.repo.name.split("/")[0],
            "base_ref": pull.get("base", {}).get("ref", ""),
            "head_ref": pull.get("head", {}).get("ref", ""),
            "server_url": "https://github.test",
            "api_url": self.repo.github.url,
            "run_id": str(run.id),
            "workflow": run.workflow,
            "job": job_id,
            "action_path": "",
        }

    def _seed_certgov(self, temp: Path) -> None:
        """The action's venv, as its install step leaves it, holding a shim to this certgov:
        made with every extra the action offers (this certgov's environment has them all), so
        that a use with `extras:` reuses it too."""
        if self.certgov is None:
            return
        venv = temp / "certgov-venv"
        (venv / "bin").mkdir(parents=True)
        shim = venv / "bin/certgov"
        shim.write_text(f'#!/bin/sh\nexec "{self.certgov}" "$@"\n', encoding="utf-8")
        shim.chmod(0o755)
        extras = " ".join(action_extras(self.action_root / ".github/actions/certgov"))
        spec = f"{self.action_root}\n{extras}\n"
        (venv / ".certgov-spec").write_text(spec, encoding="utf-8")

    # -- steps -----------------------------------------------------------------------------------

    def _steps(self, steps: list[dict[str, Any]], scope: _Scope) -> list[Step]:
        done = []
        for index, step in enumerate(steps):
            _known(step, STEP_KEYS, f"{scope.job_id}.steps[{index}]")
            status = Status(failed=scope.failed)
            label = step.get("name") or step.get("uses") or str(step.get("run", "")).split("\n")[0]
            name = as_text(interpolate(label, scope.view(STEP_VALUES)))
            if not condition(step.get("if", "success()"), scope.view(STEP_IF), status):
                result = Step(name, "skipped")
            else:
                values = scope.view(STEP_VALUES)
                env = {**scope.env}
                env.update(
                    (k, as_text(interpolate(v, values))) for k, v in (step.get("env") or {}).items()
                )
                if "run" in step:
                    script = as_text(interpolate(step["run"], values))
                    result = self._script(name, script, step.get("shell"), env, scope)
                else:
                    inputs = {
                        k: as_text(interpolate(v, values))
                        for k, v in (step.get("with") or {}).items()
                    }
                    result = self._uses(name, step["uses"], inputs, env, scope)
            if result.outcome == "failure":
                scope.failed = True
            if "id" in step:
                scope.steps[step["id"]] = {
                    "outputs": result.outputs,
                    "outcome": result.outcome,
                    "conclusion": result.outcome,
                }
            done.append(result)
        return done

    def _process_env(self, env: Mapping[str, str], scope: _Scope) -> dict[str, str]:
        github = scope.contexts["github"]
        files = {name: scope.files / name.lower() for name in _FILE_COMMANDS}
        for path in files.values():
            path.write_text("", encoding="utf-8")
        base = {
            "PATH": ":".join([*reversed(scope.path), SYSTEM_PATH]),
            "HOME": str(scope.workspace.parent / "home"),
            "LANG": "C.UTF-8",
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(scope.workspace),
            "GITHUB_REPOSITORY": self.repo.name,
            "GITHUB_REPOSITORY_OWNER": github["repository_owner"],
            "GITHUB_SHA": github["sha"],
            "GITHUB_REF": github["ref"],
            "GITHUB_REF_NAME": github["ref_name"],
            "GITHUB_EVENT_NAME": github["event_name"],
            "GITHUB_EVENT_PATH": str(scope.files / "event.json"),
            "GITHUB_API_URL": github["api_url"],
            "GITHUB_SERVER_URL": github["server_url"],
            "GITHUB_RUN_ID": github["run_id"],
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_BASE_REF": github["base_ref"],
            "GITHUB_HEAD_REF": github["head_ref"],
            "GITHUB_JOB": scope.job_id,
            "GITHUB_WORKFLOW": github["workflow"],
            "RUNNER_TEMP": str(scope.temp),
            "RUNNER_OS": "Linux",
            "RUNNER_ARCH": "X64",
            **{name: str(path) for name, path in files.items()},
        }
        if scope.action_path:
            base["GITHUB_ACTION_PATH"] = scope.action_path
        return {**base, **env}

    def _script(
        self, name: str, script: str, shell: str | None, env: Mapping[str, str], scope: _Scope
    ) -> Step:
        if shell not in (None, "bash"):
            raise RunnerError(f"{name}: shell {shell!r} is not supported")
        argv = (
            ["bash", "-e"]
            if shell is None
            else ["bash", "--noprofile", "--norc", "-eo", "pipefail"]
        )
        path = scope.files / "script.sh"
        path.write_text(script, encoding="utf-8")
        process_env = self._process_env(env, scope)
        try:
            done = subprocess.run(
                [*argv, str(path)],
                cwd=scope.workspace,
                env=process_env,
                capture_output=True,
                text=True,
                timeout=min(STEP_TIMEOUT, scope.deadline),
                check=False,
            )
            code, log = done.returncode, done.stdout + done.stderr
        except subprocess.TimeoutExpired as exc:
            code, log = 124, f"{exc.stdout or ''}{exc.stderr or ''}\n(timed out)"
        outputs = self._file_commands(scope)
        annotations = [
            f"{m.group(1)}: {m.group(2)}" for m in map(ANNOTATION.match, log.splitlines()) if m
        ]
        return Step(name, "success" if code == 0 else "failure", outputs, log, annotations)

    def _file_commands(self, scope: _Scope) -> dict[str, str]:
        """Read what the step wrote to GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH and the summary."""
        outputs = _key_values(scope.files / "github_output")
        scope.env.update(_key_values(scope.files / "github_env"))
        added = (scope.files / "github_path").read_text(encoding="utf-8").splitlines()
        scope.path.extend(line for line in added if line.strip())
        scope.summary.append((scope.files / "github_step_summary").read_text(encoding="utf-8"))
        return outputs

    # -- actions ---------------------------------------------------------------------------------

    def _uses(
        self, name: str, uses: str, inputs: dict[str, str], env: dict[str, str], scope: _Scope
    ) -> Step:
        if OWN_ACTION.match(uses):
            folder = self.action_root / ".github/actions/certgov"
            if uses.startswith("./"):
                folder = scope.workspace / uses
            return self._composite(name, folder, inputs, env, scope)
        action = uses.split("@")[0]
        if action not in STAND_IN_INPUTS:
            raise RunnerError(f"{uses}: no stand-in for this action")
        unknown = sorted(set(inputs) - STAND_IN_INPUTS[action])
        if unknown:
            raise RunnerError(f"{uses}: the stand-in does not take {unknown}")
        scope.run.stand_ins.append((scope.job_id, action, inputs))
        if action == "actions/checkout":
            return self._checkout(name, inputs, scope)
        if action == "actions/upload-artifact":
            return self._upload(name, inputs, scope)
        if action == "actions/download-artifact":
            return self._download(name, inputs, scope)
        return Step(name, "success", log=f"(stood in: {action} with {inputs})")

    def _checkout(self, name: str, inputs: dict[str, str], scope: _Scope) -> Step:
        github = scope.contexts["github"]
        ref, sha, work = github["ref"], github["sha"], scope.workspace
        depth = int(inputs.get("fetch-depth") or "1")
        branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None
        target = (
            f"refs/remotes/origin/{branch}" if branch else ref.replace("refs/", "refs/remotes/", 1)
        )
        git("init", "-q", str(work))
        git("remote", "add", "origin", f"file://{self.repo.origin}", cwd=work)
        if depth == 0:
            git(
                "fetch",
                "-q",
                "--prune",
                "--tags",
                "origin",
                "+refs/heads/*:refs/remotes/origin/*",
                "+refs/tags/*:refs/tags/*",
                cwd=work,
            )
            git("fetch", "-q", "origin", f"+{sha}:{target}", cwd=work)
        else:
            git(
                "fetch",
                "-q",
                "--no-tags",
                f"--depth={depth}",
                "origin",
                f"+{sha}:{target}",
                cwd=work,
            )
        if branch:
            git("checkout", "-q", "--force", "-B", branch, target, cwd=work)
        else:
            git("checkout", "-q", "--detach", target, cwd=work)
        return Step(name, "success", log=f"checked out {ref} at {sha} (fetch-depth {depth})")

    def _upload(self, name: str, inputs: dict[str, str], scope: _Scope) -> Step:
        files: list[Path] = []
        for line in filter(None, (p.strip() for p in inputs["path"].splitlines())):
            path = scope.workspace / line
            if path.is_dir():
                files.extend(sorted(p for p in path.rglob("*") if p.is_file()))
            elif path.is_file():
                files.append(path)
        artifact = inputs.get("name", "artifact")
        if not files:
            message = f"No files were found with the provided path: {inputs['path'].strip()}."
            if inputs.get("if-no-files-found", "warn") == "error":
                return Step(name, "failure", log=message)
            return Step(name, "success", log=message, annotations=[f"warning: {message}"])
        existing = self.repo.github.artifacts(self.repo.name, scope.run.id)
        if any(a["name"] == artifact for a in existing):
            return Step(name, "failure", log=f"an artifact named {artifact} exists in this run")
        root = Path(os.path.commonpath([f.parent for f in files]))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for file in files:
                archive.write(file, str(file.relative_to(root)))
        artifact_id = self.repo.github.add_artifact(
            self.repo.name, scope.run.id, artifact, buffer.getvalue()
        )
        listed = ", ".join(str(f.relative_to(root)) for f in files)
        return Step(name, "success", {"artifact-id": str(artifact_id)}, f"uploaded {listed}")

    def _download(self, name: str, inputs: dict[str, str], scope: _Scope) -> Step:
        """This run's artifact `name` into `path`; or those matching `pattern` (every one
        without it), each into `path/<its name>` unless `merge-multiple`, as v4+ does."""
        found = sorted(
            self.repo.github.artifacts(self.repo.name, scope.run.id), key=lambda a: a["name"]
        )
        wanted = inputs.get("name")
        target = scope.workspace / inputs.get("path", ".")
        if wanted:
            found = [a for a in found if a["name"] == wanted]
            if not found:
                message = f"Unable to download artifact(s): Artifact '{wanted}' not found"
                return Step(name, "failure", log=message)
        else:
            pattern = inputs.get("pattern") or "*"
            found = [a for a in found if fnmatchcase(a["name"], pattern)]
        separate = not wanted and inputs.get("merge-multiple", "false") != "true"
        for artifact in found:
            folder = target / artifact["name"] if separate else target
            folder.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(io.BytesIO(self.repo.github.archive(artifact["id"]))) as archive:
                archive.extractall(folder)
        names = ", ".join(a["name"] for a in found) or "no artifact"
        return Step(name, "success", log=f"downloaded {names} to {target}")

    def _composite(
        self, name: str, folder: Path, inputs: dict[str, str], env: dict[str, str], outer: _Scope
    ) -> Step:
        if not (folder / "action.yml").is_file():
            return Step(name, "failure", log=f"Can't find 'action.yml' under '{folder}'.")
        action = workflows.load(folder / "action.yml")
        if action["runs"]["using"] != "composite":
            raise RunnerError(f"{folder}: not a composite action")
        declared = action.get("inputs") or {}
        unknown = sorted(set(inputs) - set(declared))
        if unknown:
            raise RunnerError(f"{folder}: no inputs {unknown}")
        values = outer.view(STEP_VALUES)
        given = {
            key: inputs[key]
            if key in inputs
            else as_text(interpolate(spec.get("default", ""), values))
            for key, spec in declared.items()
        }
        inner = _Scope(
            job_id=outer.job_id,
            contexts={
                **outer.contexts,
                "github": {**outer.contexts["github"], "action_path": str(folder)},
                "inputs": given,
            },
            env=env,
            workspace=outer.workspace,
            temp=outer.temp,
            files=outer.files,
            deadline=outer.deadline,
            run=outer.run,
            path=outer.path,
            summary=outer.summary,
            action_path=str(folder),
        )
        for step in action["runs"]["steps"]:
            if "run" in step and "shell" not in step:
                raise RunnerError(f"{folder}: a composite run step needs shell:")
        steps = self._steps_in(action["runs"]["steps"], inner)
        outputs = {
            key: as_text(interpolate(spec["value"], inner.view(COMPOSITE)))
            for key, spec in (action.get("outputs") or {}).items()
        }
        log = "\n".join(f"[{s.name}: {s.outcome}]\n{s.log}" for s in steps)
        annotations = [a for s in steps for a in s.annotations]
        outcome = "failure" if inner.failed else "success"
        return Step(name, outcome, outputs, log, annotations)

    def _steps_in(self, steps: list[dict[str, Any]], inner: _Scope) -> list[Step]:
        """A composite's steps see only the contexts a composite action may use."""
        kept = inner.contexts
        inner.contexts = {k: v for k, v in kept.items() if k in COMPOSITE}
        try:
            return self._steps(steps, inner)
        finally:
            inner.contexts = kept


_FILE_COMMANDS = ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")


def _key_values(path: Path) -> dict[str, str]:
    """`name=value` lines and `name<<DELIMITER` blocks, as GitHub reads them."""
    values: dict[str, str] = {}
    lines = iter(path.read_text(encoding="utf-8").splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            block = []
            for item in lines:
                if item == delimiter:
                    break
                block.append(item)
            else:
                raise RunnerError(f"{path.name}: {key} has no closing {delimiter}")
            values[key] = "\n".join(block)
        elif "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
        elif line.strip():
            raise RunnerError(f"{path.name}: cannot read {line!r}")
    return values


def action_extras(folder: Path) -> list[str]:
    """The extras certgov's action offers: one per lock `requirements-<extra>.txt` beside it."""
    locks = sorted(folder.glob("requirements-*.txt"))
    return [lock.name.removeprefix("requirements-").removesuffix(".txt") for lock in locks]


def _only(contexts: Mapping[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    return {name: contexts[name] for name in allowed if name in contexts}


def _known(mapping: Mapping[Any, Any], keys: set[Any], where: str) -> None:
    unknown = sorted(str(k) for k in set(mapping) - keys)
    if unknown:
        raise RunnerError(f"{where}: the runner does not support {unknown}")


def _job_name(job_id: str, job: Mapping[str, Any], contexts: Mapping[str, Any]) -> str:
    """The job's name as GitHub shows it: its `name:` (default: its id), followed by the
    matrix values in parentheses unless the name uses the matrix itself."""
    given = job.get("name")
    name = as_text(interpolate(given, _only(contexts, JOB_NAME))) if given else job_id
    values = [
        as_text(v)
        for v in (contexts.get("matrix") or {}).values()
        if not isinstance(v, dict | list)
    ]
    if "matrix" in str(given or "") or not values:
        return name
    return f"{name} ({', '.join(values)})"


def matrix_combinations(spec: Any, job_id: str) -> list[dict[str, Any]]:
    """The combinations of a matrix, as GitHub makes them: the product of its dimensions without
    those `exclude` matches, then each `include` entry added to every combination whose
    original values it keeps, or appended as a combination of its own."""
    if not isinstance(spec, dict):
        raise RunnerError(f"jobs.{job_id}.strategy.matrix: {spec!r} is not a matrix")
    include = spec.get("include") or []
    exclude = spec.get("exclude") or []
    dimensions = {k: v for k, v in spec.items() if k not in ("include", "exclude")}
    for key, values in (("include", include), ("exclude", exclude), *dimensions.items()):
        if not isinstance(values, list):
            raise RunnerError(f"jobs.{job_id}.strategy.matrix.{key}: {values!r} is not a list")
    combinations = (
        [dict(zip(dimensions, values, strict=True)) for values in product(*dimensions.values())]
        if dimensions
        else []
    )
    combinations = [
        c
        for c in combinations
        if not any(all(c.get(k) == v for k, v in e.items()) for e in exclude)
    ]
    originals = [dict(c) for c in combinations]
    for entry in include:
        matched = False
        # Only the product's combinations take an entry; those entries made do not.
        for original, combination in zip(originals, combinations, strict=False):
            if all(original[k] == v for k, v in entry.items() if k in original):
                combination.update(entry)
                matched = True
        if not matched:
            combinations.append(dict(entry))
    return combinations
