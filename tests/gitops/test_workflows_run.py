"""The shipped workflows in examples/github, run step by step against the reference server.

The scenario of issue 19, in order: a pull request with an account change and a policy change
gets one plan comment, planned with the read account and the snapshot the default branch
published; a push to it edits that comment; the merge applies exactly the reviewed changes;
drift then finds nothing, finds a change made by hand (issue opened, webhook notified), and
closes the issue once it is undone. Every step's result goes to a log, printed at the end.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from certgov.gitops.notify import signature
from certgov.version import __version__
from tests.gitops.github_fake import FakeGitHub, serving
from tests.gitops.webhook_fake import Webhook, webhook
from tests.gitops.workflow_runner import Environment, Event, Repository, Run, Runner, Step
from tests.integration.conftest import LiveServer, start_server

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples/github"
REPO = "acme/certs"
CERTGOV = Path(sys.executable).parent / "certgov"
NOTIFY_KEY = "notify-key-for-the-test"
CRON = "17 6 * * *"

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("bash", "git", "curl", "jq", "unzip")),
    reason="the workflows' steps need bash, git, curl, jq and unzip",
)

CONFIG = """apiVersion: certgov/v1
kind: Config
secret_stores:
  vault: {{type: command, command: ["{python}", store.py]}}
manage:
  ServiceAccount: {{prune: disable, ignore: ["bootstrap-*", "ci-*", "ops-*"]}}
  Policy: {{prune: disable}}
"""

# The secret store: records in a folder outside every checkout (a stand-in for Vault).
STORE = """import json, pathlib, sys

operation, path = sys.argv[1:]
record = pathlib.Path({vault!r}) / (path + ".json")
if operation == "write":
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(sys.stdin.read())
elif record.exists():
    meta = json.loads(record.read_text())
    meta.pop("client_secret")
    print(json.dumps(meta))
"""

ACCOUNT = """---
apiVersion: certgov/v1
kind: ServiceAccount
name: {name}
description: certificates of the {name} service
scopes: [{scopes}]
ip_allowlist: [127.0.0.1]
expires_at: 2099-01-01
secret: {{store: vault, path: accounts/{name}}}
"""

POLICY = """apiVersion: certgov/v1
kind: Policy
name: web
matching_criteria: {{action: certificate.generate, domains: ["*.web.example.com"]}}
rules:
  - {{action: enforce_minimum_key_size, fail: hard, values: {{minimum_bits: {bits}}}}}
tests:
  - name: a 2048-bit key is refused
    request: {{common_name: a.web.example.com, key: {{algorithm: rsa, size: 2048}}}}
    expect: block
"""


@dataclass
class World:
    """The reference server, the GitHub fake, the repository, the webhook and the log."""

    live: LiveServer
    github: FakeGitHub
    repo: Repository
    hook: Webhook
    runner: Runner
    ops: Path
    log: list[str] = field(default_factory=list)
    comment: str = ""

    def run(self, workflow: str, trigger: str, event: Event) -> Run:
        run = self.runner.run(EXAMPLES / f"{workflow}.yml", f"certgov-{workflow}.yml", event)
        self.log.append(f"{trigger}: {run.line()}")
        return run

    def note(self, line: str) -> None:
        self.log.append(f"  {line}")


def _secrets(path: Path, prefix: str) -> dict[str, str]:
    creds = json.loads(path.read_text())
    return {
        f"{prefix}_UUID": creds["uuid"],
        f"{prefix}_CLIENT_ID": creds["client_id"],
        f"{prefix}_CLIENT_SECRET": creds["client_secret"],
    }


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    vault = tmp_path / "vault"
    server = start_server(f"sqlite:///{tmp_path / 'server.db'}", tmp_path)
    live = next(server)
    try:
        with serving(FakeGitHub()) as github, webhook() as hook:
            repo = Repository.create(REPO, tmp_path / "github", github)
            repo.vars["CERTGOV_URL"] = live.url
            repo.secrets.update(
                _secrets(live.new_credentials("ci-plan-reader", ["read"]), "CERTGOV_READ")
            )
            repo.secrets.update(CERTGOV_NOTIFY_URL=hook.url, CERTGOV_NOTIFY_KEY=NOTIFY_KEY)
            repo.environments["certgov-production"] = Environment(
                _secrets(live.admin, "CERTGOV_ADMIN"), ("main",), ("security-lead",)
            )
            repo.environments["certgov-drift"] = Environment(
                _secrets(live.new_credentials("ci-drift", ["admin"]), "CERTGOV_DRIFT"), ("main",)
            )
            repo.commit(
                "main",
                {
                    "certgov.yaml": CONFIG.format(python=sys.executable),
                    "store.py": STORE.format(vault=str(vault)),
                    "accounts.yaml": ACCOUNT.format(name="app-web", scopes="read"),
                    "policies.yaml": POLICY.format(bits=3072),
                },
                "declarations",
            )
            # The tenant as it stands before the workflows are installed: applied by hand.
            applied = live.cli("apply", str(repo.scratch), "--auto-approve")
            assert applied.exit_code == 0, applied.output
            runner = Runner(repo, tmp_path / "runs", ROOT, CERTGOV)
            ops = live.new_credentials("ops-oncall", ["admin"])
            yield World(live, github, repo, hook, runner, ops)
    finally:
        server.close()


def _normalised(text: str, world: World) -> str:
    """The text with what changes from run to run (port, times, digests) replaced by names."""
    text = text.replace(world.live.url, "http://clm.test")
    text = re.sub(r"20[2-3]\d-\d\d-\d\dT\d\d:\d\d(:\d\d)?(\+00:00|Z)?", "<time>", text)
    text = re.sub(r"sha256:[0-9a-f]{64}", "sha256:<digest>", text)
    return re.sub(r"sha256:[0-9a-f]{12}…", "sha256:<digest>…", text)


def _artifact(world: World, run: Run, name: str) -> dict[str, bytes]:
    """The files of the artifact `name` that `run` uploaded."""
    (found,) = [a for a in world.github.artifacts(REPO, run.id) if a["name"] == name]
    with zipfile.ZipFile(io.BytesIO(world.github.archive(found["id"]))) as archive:
        return {item: archive.read(item) for item in archive.namelist()}


def _step(run: Run, job: str, name: str) -> Step:
    (found,) = [s for s in run.jobs[job].steps if s.name == name]
    return found


def _notifications(world: World) -> list[dict[str, Any]]:
    """The webhook's messages, each checked against its signature."""
    messages = []
    for received in world.hook.received:
        assert received.headers["X-Certgov-Signature"] == signature(NOTIFY_KEY, received.body)
        messages.append(json.loads(received.body))
    return messages


UPDATED_COMMENT = """<!-- certgov:plan:. -->
### certgov plan

**Target: http://clm.test/api/v1** · Compared: ServiceAccount snapshot (ServiceAccount compared with the snapshot of <time>, 0 h old), Policy live

**Risks for a security review** (2):

- `ServiceAccount/app-batch` **account created**: scopes read; from 127.0.0.1; 2099-01-01T00:00:00+00:00
- `ServiceAccount/app-web` **scopes widened**: read → read, write

**1 to create, 2 to update, 0 to delete** · policy tests 1 passed · plan `sha256:<digest>…`

<details><summary>✏️ <b>update</b> <code>Policy/web</code></summary>

| field | before | after |
|---|---|---|
| `rules.enforce_minimum_key_size.values.minimum_bits` | `"3072"` | `"4096"` |

Policy tests: 1 passed, 0 failed
- ✅ a 2048-bit key is refused: block

Back-test skipped: the audit log could not be read: reading audit events needs scope admin; this account has read

</details>
<details open><summary>🆕 <b>create</b> <code>ServiceAccount/app-batch</code></summary>

| field | value |
|---|---|
| `name` | `"app-batch"` |
| `description` | `"certificates of the app-batch service"` |
| `scopes` | `["read"]` |
| `ip_allowlist` | `["127.0.0.1"]` |
| `expires_at` | `"2099-01-01T00:00:00+00:00"` |
| `enabled` | `true` |
| `client_secret` | _(sensitive: generated on apply, stored in vault at accounts/app-batch)_ |

Steps: create → store the generated secret

</details>
<details open><summary>✏️ <b>update</b> <code>ServiceAccount/app-web</code></summary>

| field | before | after |
|---|---|---|
| `scopes` | `["read"]` | `["read", "write"]` |

</details>

0 unchanged · 0 unmanaged · 4 ignored

Changes fingerprint (apply on merge checks it): `sha256:<digest>`
"""

PARTIAL_COMMENT = """<!-- certgov:plan:. -->
### certgov plan

**Target: http://clm.test/api/v1** · Compared: ServiceAccount not planned, Policy live

> [!CAUTION]
> **Partial plan**: these kinds were not compared, so their changes are not shown:
> - **ServiceAccount**: reading service accounts needs scope admin; this account has read

Nothing to change in what was compared · plan `sha256:<digest>…`
"""

DRIFT_ISSUE = """<!-- certgov:drift:. -->
### certgov drift

**0 pending** · **1 out of band** · 0 hygiene findings (against `certgov-applied`)

#### Out of band: changed on the platform, not in git

| object | change | who and when |
|---|---|---|
| `ServiceAccount/app-batch` | `enabled: live false, declared true` | last changed by ops-oncall (127.0.0.1) at <time>: service_account.disabled |

"""


def _clean_drift(applied_ref: str) -> dict[str, Any]:
    return {
        "event": "drift",
        "certgov_version": __version__,
        "format_version": "1",
        "target": "http://clm.test/api/v1",
        "applied_ref": applied_ref,
        "pending": [],
        "out_of_band": [],
        "hygiene": [],
        "skipped": [],
        "exit_code": 0,
    }


def test_the_shipped_workflows_plan_apply_and_watch_drift_as_reviewed(world: World) -> None:
    github, repo = world.github, world.repo
    comments = lambda: github.comments(REPO, number)  # noqa: E731

    # 0. The first scheduled drift finds nothing and publishes the snapshot pull requests use.
    first_drift = world.run("drift", "schedule", repo.schedule_event(CRON))
    assert first_drift.conclusion == "success", first_drift.failures()
    assert set(_artifact(world, first_drift, "certgov-snapshot")) == {"snapshot.json"}
    world.note("published certgov-snapshot; no drift issue")

    # 1. A pull request changes an account and a policy: one comment with both, planned with
    #    the read account and that snapshot.
    repo.commit(
        "tighten-web",
        {
            "accounts.yaml": ACCOUNT.format(name="app-web", scopes="read, write"),
            "policies.yaml": POLICY.format(bits=4096),
        },
        "app-web may write; web needs 4096-bit keys",
    )
    number = repo.open_pull_request("tighten-web")
    opened = world.run(
        "plan", f"pull request #{number} opened", repo.pull_request_event(number, "opened")
    )
    assert opened.conclusion == "success", opened.failures()
    snapshot_step = _step(opened, "plan", "the latest snapshot from the default branch")
    (snapshot_artifact,) = [a["id"] for a in github.artifacts(REPO, first_drift.id)]
    assert snapshot_step.log == (
        f"certgov-snapshot {snapshot_artifact} of run {first_drift.id} (schedule on main)\n"
    )
    kept = _artifact(world, opened, "certgov-plan")
    plan = json.loads(kept["plan.json"])
    assert (
        [(c["action"], c["address"]) for c in plan["changes"]],
        plan["coverage"]["ServiceAccount"]["compared"],
        plan["summary"]["partial"],
    ) == ([("update", "Policy/web"), ("update", "ServiceAccount/app-web")], "snapshot", False)
    assert [c["body"] for c in comments()] == [kept["plan.md"].decode()]
    (first,) = comments()
    world.note(f"plan: {snapshot_step.log.strip()}; read account")
    world.note(f"comment {first['id']} created with Policy/web and ServiceAccount/app-web")

    # 2. The pull request is updated: the same comment is edited, no second one is made.
    repo.commit(
        "tighten-web",
        {
            "accounts.yaml": ACCOUNT.format(name="app-web", scopes="read, write")
            + ACCOUNT.format(name="app-batch", scopes="read")
        },
        "an account for the batch jobs",
    )
    calls = len(github.calls)
    updated = world.run(
        "plan",
        f"pull request #{number} synchronize",
        repo.pull_request_event(number, "synchronize"),
    )
    assert updated.conclusion == "success", updated.failures()
    reviewed = _artifact(world, updated, "certgov-plan")
    (comment,) = comments()
    assert (comment["id"], comment["body"]) == (first["id"], reviewed["plan.md"].decode())
    assert _normalised(str(comment["body"]), world) == UPDATED_COMMENT
    assert [
        (c.method, re.sub(r"/_blobs/\w+", "/_blobs/KEY", c.path)) for c in github.calls[calls:]
    ] == [
        ("GET", f"/repos/{REPO}/actions/artifacts"),
        ("GET", f"/repos/{REPO}/actions/runs/{first_drift.id}"),
        ("GET", f"/repos/{REPO}/actions/artifacts/{snapshot_artifact}/zip"),
        ("GET", "/_blobs/KEY"),
        ("GET", f"/repos/{REPO}/issues/{number}/comments"),
        ("PATCH", f"/repos/{REPO}/issues/comments/{first['id']}"),
    ]
    world.note(f"comment {comment['id']} edited (PATCH), still the only one on #{number}")
    world.comment = str(comment["body"])

    # 3. The merge: apply re-plans live and applies exactly the reviewed changes.
    applied = world.run(
        "apply", f"merge of #{number} (push to main)", repo.merge_pull_request(number)
    )
    assert applied.conclusion == "success", applied.failures()
    fingerprint = json.loads(reviewed["plan.json"])["changes_fingerprint"]
    assert json.loads(applied.jobs["reviewed-plan"].outputs["environments"]) == [
        {
            "name": None,
            "server": None,
            "credentials_env": "CERTGOV_",
            "after": None,
            "after_credentials_env": None,
            "fingerprint": fingerprint,
            "wait_for": None,
        }
    ]
    assert _step(applied, "apply", "certgov apply").log.splitlines()[-4:] == [
        "ServiceAccount/app-batch: created; secret stored in vault at accounts/app-batch",
        "ServiceAccount/app-web: updated",
        "Policy/web: updated (1 dry-run test passed inline first)",
        "Apply complete: 1 created, 2 updated, 0 failed.",
    ]
    replan = world.live.cli("plan", str(repo.scratch), "--detailed-exitcode")
    assert replan.exit_code == 0, replan.output
    assert repo.sha("refs/tags/certgov-applied") == repo.sha("refs/heads/main")
    assert set(_artifact(world, applied, "certgov-snapshot")) == {"snapshot.json"}
    world.note(f"reviewed changes fingerprint {fingerprint[:19]}… matched; 1 created, 2 updated")
    world.note("a live re-plan of main has nothing left to do")
    world.note("certgov-applied tag moved to the merge; certgov-snapshot published")

    # 4. Drift finds nothing.
    clean = world.run("drift", "schedule", repo.schedule_event(CRON))
    assert clean.conclusion == "success", clean.failures()
    assert [i["number"] for i in github.repos[REPO].issues.values()] == [number]
    world.note("no drift: no issue opened")

    # 5. A change by hand on the server: drift reports it, opens the issue and notifies.
    with world.live.client(world.ops) as client:
        batch = client.find_service_account("app-batch")
        assert batch is not None
        client.disable_service_account(batch.data["uuid"])
    world.log.append("ops-oncall disables ServiceAccount/app-batch by hand")
    dirty = world.run("drift", "schedule", repo.schedule_event(CRON))
    assert dirty.conclusion == "success", dirty.failures()
    issue = github.issue(REPO, number + 1)
    assert (issue["title"], issue["state"], _normalised(issue["body"], world)) == (
        "certgov drift",
        "open",
        DRIFT_ISSUE,
    )
    alert = _notifications(world)[-1]
    assert (alert["exit_code"], [o["address"] for o in alert["out_of_band"]]) == (
        4,
        ["ServiceAccount/app-batch"],
    )
    world.note(f"drift exit 4 (out of band): issue #{issue['number']} opened; signed alert sent")

    # 6. Fixed by hand: drift is clean again and closes the issue.
    with world.live.client(world.ops) as client:
        client.enable_service_account(batch.data["uuid"])
    world.log.append("ops-oncall enables it again")
    fixed = world.run("drift", "schedule", repo.schedule_event(CRON))
    assert fixed.conclusion == "success", fixed.failures()
    assert (issue["state"], [c["body"] for c in github.comments(REPO, issue["number"])]) == (
        "closed",
        ["No drift any more: closing."],
    )
    world.note(f"issue #{issue['number']} closed with a comment")

    # Every alert went out signed: each drift run's result, and the apply's.
    messages = [
        json.loads(_normalised(json.dumps(m, ensure_ascii=False), world))
        for m in _notifications(world)
    ]
    assert [m["event"] for m in messages] == ["drift", "apply", "drift", "drift", "drift"]
    assert [messages[i] for i in (0, 2, 4)] == [
        _clean_drift("origin/main"),
        _clean_drift("certgov-applied"),
        _clean_drift("certgov-applied"),
    ]
    assert [(r["action"], r["address"], r["status"]) for r in messages[1]["results"]] == [
        ("update", "Policy/web", "applied"),
        ("create", "ServiceAccount/app-batch", "applied"),
        ("update", "ServiceAccount/app-web", "applied"),
    ]
    print("\n".join(world.log))
    print(f"\nThe comment after the update, as the fake GitHub received it:\n{world.comment}")


def test_before_any_snapshot_the_pull_request_plan_is_partial_and_says_so(world: World) -> None:
    repo = world.repo
    repo.commit(
        "wider",
        {"accounts.yaml": ACCOUNT.format(name="app-web", scopes="read, write")},
        "app-web may write",
    )
    number = repo.open_pull_request("wider")

    run = world.run(
        "plan", f"pull request #{number} opened", repo.pull_request_event(number, "opened")
    )

    assert run.conclusion == "success", run.failures()
    assert _step(run, "plan", "the latest snapshot from the default branch").annotations == [
        "warning: no certgov-snapshot from main yet (apply.yml and drift.yml publish it): this "
        "plan cannot compare service accounts and is partial"
    ]
    (comment,) = world.github.comments(REPO, number)
    assert _normalised(str(comment["body"]), world) == PARTIAL_COMMENT


def test_drift_does_not_get_its_admin_account_outside_the_default_branch(world: World) -> None:
    world.repo.commit("topic", {"README.md": "notes\n"}, "a branch of its own")

    run = world.run("drift", "dispatch on a branch", world.repo.dispatch_event("topic"))

    assert (run.conclusion, [(s.name, s.log) for s in run.jobs["drift"].steps]) == (
        "failure",
        [
            (
                "environment",
                'Branch "topic" is not allowed to deploy to certgov-drift due to environment '
                "protection rules.",
            )
        ],
    )
