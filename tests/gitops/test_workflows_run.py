"""The shipped workflows in examples/github, run step by step against the reference server.

The scenario of issue 19, in order: a pull request with an account change and a policy change
gets one plan comment, planned with the read account and the snapshot the default branch
published; a push to it edits that comment; the merge applies exactly the reviewed changes;
drift then finds nothing, finds a change made by hand (issue opened, webhook notified), and
closes the issue once it is undone. Every step's result goes to a log, printed at the end.

The same files with two environments (examples/environments on two reference servers): one
comment with a section per environment, staging applied before production's reviewer is asked,
a drift issue per environment; and a refused staging apply that production never follows.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certgov.gitops.notify import signature
from certgov.version import __version__
from tests.gitops.github_fake import FakeGitHub, serving
from tests.gitops.webhook_fake import Webhook, webhook
from tests.gitops.workflow_runner import Environment, Event, Repository, Run, Runner, Step, git
from tests.integration.conftest import LiveServer, start_server

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples/github"
ENV_EXAMPLE = ROOT / "examples/environments"
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


# -- the audit checkpoint (reference server operators) ---------------------------------------------


@dataclass(frozen=True)
class CheckpointKey:
    """An Ed25519 key pair as an operator keeps it: the private PEM for the GitHub secret, the
    public key in a file for verify-audit."""

    private_pem: str
    public_file: Path


def _checkpoint_key(folder: Path) -> CheckpointKey:
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public_file = folder / "checkpoint-key.pub"
    public_file.write_bytes(public)
    return CheckpointKey(private.decode(), public_file)


def _verify_audit(live: LiveServer, *args: str) -> subprocess.CompletedProcess[str]:
    """`certgov server verify-audit` of the server's database, as its operator runs it."""
    return subprocess.run(
        [
            *(str(CERTGOV), "server", "verify-audit", "--database", live.database_url),
            *("--audit-key", str(live.workdir / "audit.key"), *args),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def _left_behind(runs: Path, secret: str) -> list[str]:
    """Files of the runs (workspaces, RUNNER_TEMP, homes) that hold any line of `secret`."""
    lines = [line.encode() for line in secret.splitlines() if len(line) > 20]
    return sorted(
        str(path.relative_to(runs))
        for path in runs.rglob("*")
        if path.is_file() and any(line in path.read_bytes() for line in lines)
    )


def test_drift_keeps_a_signed_checkpoint_of_the_reference_servers_audit_log(
    world: World, tmp_path: Path
) -> None:
    key = _checkpoint_key(tmp_path)
    world.repo.environments["certgov-drift"].secrets.update(
        CERTGOV_AUDIT_DATABASE_URL=world.live.database_url,
        CERTGOV_CHECKPOINT_KEY=key.private_pem,
    )

    run = world.run("drift", "schedule", world.repo.schedule_event(CRON))

    assert run.conclusion == "success", run.failures()
    assert [(s.name, s.outcome, s.annotations) for s in run.jobs["drift"].steps[-4:]] == [
        ("the audit checkpoint's secrets", "success", []),
        ("OWNER/certgov/.github/actions/certgov@CERTGOV_COMMIT_SHA", "success", []),
        ("certgov server audit-checkpoint", "success", []),
        ("keep the audit checkpoint", "success", []),
    ]
    uploads = [i for _, action, i in run.stand_ins if action == "actions/upload-artifact"]
    assert uploads[-1] == {
        "name": f"audit-checkpoint-{run.id}",
        "path": f"{tmp_path}/runs/02-drift/temp/checkpoint/checkpoint.json",
        "if-no-files-found": "error",
        "retention-days": "90",
    }
    kept = _artifact(world, run, f"audit-checkpoint-{run.id}")
    assert set(kept) == {"checkpoint.json"}
    checkpoint = tmp_path / "checkpoint.json"
    checkpoint.write_bytes(kept["checkpoint.json"])
    signed = json.loads(kept["checkpoint.json"])["checkpoint"]

    verified = _verify_audit(
        world.live, "--checkpoint", str(checkpoint), "--checkpoint-key", str(key.public_file)
    )

    assert (verified.returncode, verified.stdout.splitlines(), verified.stderr) == (
        0,
        [
            f"audit chain intact: {signed['event_id']} events",
            f"checkpoint {checkpoint} (signed {signed['signed_at']}) holds: event "
            f"{signed['event_id']}",
        ],
        "",
    )
    # The key went to a file of the step's own, and nowhere else: no log holds it, no file of
    # the run is left with it.
    logs = "".join(s.log for s in run.jobs["drift"].steps)
    (body,) = [line for line in key.private_pem.splitlines() if not line.startswith("-----")]
    assert (body in logs, _left_behind(tmp_path / "runs", key.private_pem)) == (False, [])


def test_the_checkpoint_key_is_removed_when_the_checkpoint_fails(
    world: World, tmp_path: Path
) -> None:
    key = _checkpoint_key(tmp_path)
    world.repo.environments["certgov-drift"].secrets.update(
        CERTGOV_AUDIT_DATABASE_URL=f"sqlite:///{tmp_path}/no-such-folder/server.db",
        CERTGOV_CHECKPOINT_KEY=key.private_pem,
    )

    run = world.run("drift", "schedule", world.repo.schedule_event(CRON))

    assert run.conclusion == "failure"
    assert [(s.name, s.outcome) for s in run.jobs["drift"].steps[-2:]] == [
        ("certgov server audit-checkpoint", "failure"),
        ("keep the audit checkpoint", "skipped"),
    ]
    assert [a["name"] for a in world.github.artifacts(REPO, run.id)] == ["certgov-snapshot"]
    assert _left_behind(tmp_path / "runs", key.private_pem) == []


def test_drift_without_the_checkpoint_secrets_says_it_skips_the_checkpoint(world: World) -> None:
    run = world.run("drift", "schedule", world.repo.schedule_event(CRON))

    assert run.conclusion == "success", run.failures()
    assert [(s.name, s.outcome, s.annotations) for s in run.jobs["drift"].steps[-4:]] == [
        (
            "the audit checkpoint's secrets",
            "success",
            [
                "notice: audit checkpoint skipped: neither CERTGOV_AUDIT_DATABASE_URL nor "
                "CERTGOV_CHECKPOINT_KEY is set in this GitHub environment; set both where you "
                "run certgov's reference server (a SaaS tenant has no database to read; "
                "docs/github.md says how)"
            ],
        ),
        ("OWNER/certgov/.github/actions/certgov@CERTGOV_COMMIT_SHA", "skipped", []),
        ("certgov server audit-checkpoint", "skipped", []),
        ("keep the audit checkpoint", "skipped", []),
    ]
    assert [a["name"] for a in world.github.artifacts(REPO, run.id)] == ["certgov-snapshot"]


def test_drift_with_one_of_the_checkpoint_secrets_fails_naming_the_other(world: World) -> None:
    world.repo.environments["certgov-drift"].secrets["CERTGOV_AUDIT_DATABASE_URL"] = (
        world.live.database_url
    )

    run = world.run("drift", "schedule", world.repo.schedule_event(CRON))

    assert run.conclusion == "failure"
    step = _step(run, "drift", "the audit checkpoint's secrets")
    assert (step.outcome, step.annotations) == (
        "failure",
        [
            "error: the audit checkpoint needs both CERTGOV_AUDIT_DATABASE_URL and "
            "CERTGOV_CHECKPOINT_KEY in this GitHub environment; CERTGOV_CHECKPOINT_KEY is not "
            "set (docs/github.md names the secrets)"
        ],
    )
    assert [a["name"] for a in world.github.artifacts(REPO, run.id)] == ["certgov-snapshot"]


# -- two environments ------------------------------------------------------------------------------

ENVIRONMENTS = ("staging", "production")
ENV_CONFIG = """apiVersion: certgov/v1
kind: Config
secret_stores:
  local: {{type: command, command: ["{python}", store.py, "${{var.vault}}"]}}
manage:
  ServiceAccount: {{prune: disable, ignore: ["bootstrap-*", "ci-*", "ops-*"]}}
  Policy: {{prune: disable}}
rollout: {{start: soft, promote_after: 14d, max_warnings: 0, min_requests: 20}}
environments:
  staging:
    server: {staging}
    credentials_env: CERTGOV_STAGING_
    variables: {{domain: staging.example.com, office: 127.0.0.0/8, vault: "{vault}/staging"}}
    safety: {{max_changes_fraction: 0.5}}
    rollout: {{promote_after: 7d, min_requests: 5}}
  production:
    server: {production}
    credentials_env: CERTGOV_PRODUCTION_
    variables: {{domain: example.com, office: 127.0.0.0/8, vault: "{vault}/production"}}
    rollout: {{after: staging}}
"""
# The secret store of ENV_CONFIG: the vault folder of the environment comes first.
ENV_STORE = STORE.replace("operation, path = sys.argv[1:]", "vault, operation, path = sys.argv[1:]")
ENV_STORE = ENV_STORE.replace("pathlib.Path({vault!r})", "pathlib.Path(vault)")


@dataclass
class Tenants:
    """Staging and production on two reference servers, one repository for both."""

    servers: dict[str, LiveServer]
    github: FakeGitHub
    repo: Repository
    hook: Webhook
    runner: Runner
    ops: dict[str, Path]
    approvals: list[tuple[str, str, dict[str, int]]] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def run(self, workflow: str, trigger: str, event: Event) -> Run:
        run = self.runner.run(EXAMPLES / f"{workflow}.yml", f"certgov-{workflow}.yml", event)
        self.log.append(f"{trigger}: {run.line()}")
        return run

    def max_days(self) -> dict[str, int]:
        return max_days(self.servers)


def max_days(servers: dict[str, LiveServer]) -> dict[str, int]:
    """The max_days of Web Baseline's validity rule, as each tenant has it now."""
    found = {}
    for env, live in servers.items():
        with live.client() as client:
            (web,) = [p for p in client.list_policies() if p["name"] == "Web Baseline"]
        (rule,) = [r for r in web["rules"] if r["action"] == "enforce_max_validity"]
        found[env] = int(rule["values"]["max_days"])
    return found


@pytest.fixture
def tenants(tmp_path: Path) -> Iterator[Tenants]:
    starts = {
        env: start_server(f"sqlite:///{tmp_path / env}.db", _folder(tmp_path, env))
        for env in ENVIRONMENTS
    }
    try:
        servers = {env: next(start) for env, start in starts.items()}
        with serving(FakeGitHub()) as github, webhook() as hook:
            repo = Repository.create(REPO, tmp_path / "github", github)
            repo.secrets.update(CERTGOV_NOTIFY_URL=hook.url, CERTGOV_NOTIFY_KEY=NOTIFY_KEY)
            ops = {}
            for env, live in servers.items():
                prefix = f"CERTGOV_{env.upper()}"
                repo.secrets.update(
                    _secrets(live.new_credentials("ci-plan-reader", ["read"]), f"{prefix}_READ")
                )
                repo.environments[f"certgov-{env}"] = Environment(
                    _secrets(live.admin, f"{prefix}_ADMIN"),
                    ("main",),
                    ("security-lead",) if env == "production" else (),
                )
                repo.environments[f"certgov-drift-{env}"] = Environment(
                    _secrets(live.new_credentials("ci-drift", ["admin"]), f"{prefix}_DRIFT"),
                    ("main",),
                )
                ops[env] = live.new_credentials("ops-oncall", ["admin"])
            files = {
                str(path.relative_to(ENV_EXAMPLE)): path.read_text()
                for path in sorted(ENV_EXAMPLE.rglob("*.yaml"))
                if path.name != "certgov.yaml"
            }
            config = ENV_CONFIG.format(
                python=sys.executable,
                vault=tmp_path / "vault",
                staging=servers["staging"].url,
                production=servers["production"].url,
            )
            repo.commit(
                "main",
                {**files, "certgov.yaml": config, "store.py": ENV_STORE},
                "declarations of staging and production",
            )
            # Both tenants as they stand before the workflows are installed: applied by hand.
            for env, live in servers.items():
                applied = live.cli("apply", str(repo.scratch), "--env", env, "--auto-approve")
                assert applied.exit_code == 0, applied.output
            approvals: list[tuple[str, str, dict[str, int]]] = []

            def review(environment: str, job: str) -> bool:
                # What the tenants hold when a reviewer is asked.
                approvals.append((environment, job, max_days(servers)))
                return True

            runner = Runner(repo, tmp_path / "runs", ROOT, CERTGOV, review)
            yield Tenants(servers, github, repo, hook, runner, ops, approvals)
    finally:
        for start in starts.values():
            start.close()


def _folder(root: Path, name: str) -> Path:
    (root / name).mkdir()
    return root / name


def _section(markdown: bytes) -> str:
    """A plan's markdown as a section of the shared comment: without its marker line."""
    return markdown.decode().removeprefix("<!-- certgov:plan:. -->\n")


def test_two_environments_plan_in_one_comment_apply_in_order_and_drift_apart(
    tenants: Tenants,
) -> None:
    github, repo = tenants.github, tenants.repo

    # 0. The scheduled drift checks each environment and publishes each one's snapshot.
    first = tenants.run("drift", "schedule", repo.schedule_event(CRON))
    assert first.conclusion == "success", first.failures()
    assert [(i.name, i.result) for i in first.jobs["drift"].instances] == [
        ("drift (staging)", "success"),
        ("drift (production)", "success"),
    ]
    assert sorted(a["name"] for a in github.artifacts(REPO, first.id)) == [
        "certgov-snapshot-production",
        "certgov-snapshot-staging",
    ]
    assert github.repos[REPO].issues == {}

    # 1. A pull request changes a policy both environments share, and an account staging
    #    alone has: one comment, a section per environment, each planned with its own read
    #    account and snapshot.
    web = (ENV_EXAMPLE / "policies/web-baseline.yaml").read_text()
    tester = (ENV_EXAMPLE / "service-accounts/load-tester.yaml").read_text()
    repo.commit(
        "shorter-certificates",
        {
            "policies/web-baseline.yaml": web.replace("max_days: 397", "max_days: 200"),
            "service-accounts/load-tester.yaml": tester.replace("[read, write]", "[read]"),
        },
        "web certificates for 200 days; the load tester only reads",
    )
    number = repo.open_pull_request("shorter-certificates")
    planned = tenants.run(
        "plan", f"pull request #{number} opened", repo.pull_request_event(number, "opened")
    )
    assert planned.conclusion == "success", planned.failures()
    assert [i.name for i in planned.jobs["plan"].instances] == [
        "test and plan (staging)",
        "test and plan (production)",
    ]
    kept = {env: _artifact_of(tenants, planned, f"certgov-plan-{env}") for env in ENVIRONMENTS}
    plans = {env: json.loads(files["plan.json"]) for env, files in kept.items()}
    assert {
        env: (
            plan["target"]["environment"],
            [(c["action"], c["address"]) for c in plan["changes"]],
            plan["coverage"]["ServiceAccount"]["compared"],
        )
        for env, plan in plans.items()
    } == {
        "staging": (
            "staging",
            [("update", "Policy/Web Baseline"), ("update", "ServiceAccount/load-tester")],
            "snapshot",
        ),
        "production": ("production", [("update", "Policy/Web Baseline")], "snapshot"),
    }
    (comment,) = github.comments(REPO, number)
    assert comment["body"] == (
        "<!-- certgov:plan:. -->\n"
        + _section(kept["staging"]["plan.md"])
        + "\n"
        + _section(kept["production"]["plan.md"])
    )
    headings = [line for line in str(comment["body"]).splitlines() if line.startswith("### ")]
    assert headings == ["### certgov plan: staging", "### certgov plan: production"]
    # The production plan read staging's rollouts with staging's read account (its gate).
    assert "waits for staging: not hard in staging yet" in _section(kept["production"]["plan.md"])
    tenants.log.append(f"  comment {comment['id']}: {', '.join(headings)}")

    # 2. The merge: staging is applied first; production waits for its reviewer, who is asked
    #    only once staging holds the change, and then gets exactly its reviewed plan.
    applied = tenants.run("apply", f"merge of #{number}", repo.merge_pull_request(number))
    assert applied.conclusion == "success", applied.failures()
    reviewed = json.loads(applied.jobs["reviewed-plan"].outputs["environments"])
    assert [(e["name"], e["fingerprint"], e["wait_for"]) for e in reviewed] == [
        ("staging", plans["staging"]["changes_fingerprint"], None),
        ("production", plans["production"]["changes_fingerprint"], "staging"),
    ]
    staging_apply, production_apply = applied.jobs["apply"].instances
    assert (staging_apply.name, production_apply.name) == ("apply (staging)", "apply (production)")
    assert "apply (staging)" in production_apply.after
    assert [(s.name, s.outcome) for s in production_apply.steps][:2] == [
        ("environment", "success"),
        ("the apply of staging in this run", "success"),
    ]
    assert [(s.name, s.outcome) for s in staging_apply.steps][:1] == [
        ("no other environment to wait for", "skipped"),
    ]
    assert production_apply.steps[0].log == (
        "deployment to certgov-production approved by security-lead"
    )
    assert tenants.approvals == [
        ("certgov-production", "apply (production)", {"staging": 200, "production": 397})
    ]
    assert tenants.max_days() == {"staging": 200, "production": 200}
    main = repo.sha("refs/heads/main")
    assert [repo.sha(f"refs/tags/certgov-applied-{env}") for env in ENVIRONMENTS] == [main, main]
    for env, live in tenants.servers.items():
        replan = live.cli("plan", str(repo.scratch), "--env", env, "--detailed-exitcode")
        assert replan.exit_code == 0, replan.output
    tenants.log.append("  staging applied, then production after its approval; tags moved")

    # 3. Each tenant is changed by hand: drift opens one issue per environment.
    for env, account in (("staging", "load-tester"), ("production", "deploy-pipeline")):
        with tenants.servers[env].client(tenants.ops[env]) as client:
            found = client.find_service_account(account)
            assert found is not None
            client.disable_service_account(found.data["uuid"])
    dirty = tenants.run("drift", "schedule", repo.schedule_event(CRON))
    assert dirty.conclusion == "success", dirty.failures()
    issues = sorted(github.repos[REPO].issues.values(), key=lambda i: i["number"])
    assert [
        (i["title"], i["state"], str(i["body"]).splitlines()[0], _out_of_band(i["body"]))
        for i in issues
        if "pull_request" not in i
    ] == [
        (
            "certgov drift: staging",
            "open",
            "<!-- certgov:drift:. env=staging -->",
            ["ServiceAccount/load-tester"],
        ),
        (
            "certgov drift: production",
            "open",
            "<!-- certgov:drift:. env=production -->",
            ["ServiceAccount/deploy-pipeline"],
        ),
    ]
    alerts = [m for m in _signed(tenants.hook) if m["event"] == "drift"][-2:]
    assert [(a["environment"], a["exit_code"]) for a in alerts] == [
        ("staging", 4),
        ("production", 4),
    ]
    print("\n".join(tenants.log))


def test_production_is_not_applied_when_staging_s_apply_is_refused(
    tenants: Tenants, tmp_path: Path
) -> None:
    repo = tenants.repo
    assert tenants.run("drift", "schedule", repo.schedule_event(CRON)).conclusion == "success"
    web = (ENV_EXAMPLE / "policies/web-baseline.yaml").read_text()
    repo.commit(
        "shorter",
        {"policies/web-baseline.yaml": web.replace("max_days: 397", "max_days: 300")},
        "300",
    )
    number = repo.open_pull_request("shorter")
    planned = tenants.run("plan", "pull request", repo.pull_request_event(number, "opened"))
    assert planned.conclusion == "success", planned.failures()
    # After the review, someone changes staging by hand: its plan is no longer the reviewed one.
    with tenants.servers["staging"].client(tenants.ops["staging"]) as client:
        found = client.find_service_account("load-tester")
        assert found is not None
        client.disable_service_account(found.data["uuid"])

    refused = tenants.run("apply", f"merge of #{number}", repo.merge_pull_request(number))

    assert [(i.name, i.result) for i in refused.jobs["apply"].instances] == [
        ("apply (staging)", "failure"),
        ("apply (production)", "cancelled"),
    ]
    assert (refused.conclusion, refused.jobs["record"].result, tenants.approvals) == (
        "failure",
        "success",
        [],
    )
    assert tenants.max_days() == {"staging": 397, "production": 397}
    assert git("tag", "--list", "certgov-applied*", cwd=repo.origin) == ""

    # By hand, with a fingerprint per environment: a bare one is refused with environments.
    bare = tenants.run(
        "apply", "dispatch", repo.dispatch_event("main", {"fingerprint": "sha256:" + "0" * 64})
    )
    assert _step(bare, "reviewed-plan", "the fingerprint of each reviewed plan").annotations == [
        "error: no such environment: (none named); give NAME=sha256:... for each environment "
        "to apply (certgov.yaml declares staging, production)"
    ]
    fingerprints = []
    for env, live in tenants.servers.items():
        out = tmp_path / f"{env}.json"
        fresh = live.cli("plan", str(repo.scratch), "--env", env, "--out", str(out))
        assert fresh.exit_code == 0, fresh.output
        fingerprints.append(f"{env}={json.loads(out.read_text())['changes_fingerprint']}")
    by_hand = tenants.run(
        "apply", "dispatch", repo.dispatch_event("main", {"fingerprint": " ".join(fingerprints)})
    )
    assert by_hand.conclusion == "success", by_hand.failures()
    assert tenants.max_days() == {"staging": 300, "production": 300}
    main = repo.sha("refs/heads/main")
    assert [repo.sha(f"refs/tags/certgov-applied-{env}") for env in ENVIRONMENTS] == [main, main]
    assert [a[:2] for a in tenants.approvals] == [("certgov-production", "apply (production)")]


def test_each_environment_keeps_its_own_audit_checkpoint_where_its_secrets_are_set(
    tenants: Tenants, tmp_path: Path
) -> None:
    # Staging runs on a reference server of the operators' own; production does not (say, a
    # SaaS tenant): its GitHub environment has no checkpoint secrets.
    key = _checkpoint_key(tmp_path)
    tenants.repo.environments["certgov-drift-staging"].secrets.update(
        CERTGOV_STAGING_AUDIT_DATABASE_URL=tenants.servers["staging"].database_url,
        CERTGOV_STAGING_CHECKPOINT_KEY=key.private_pem,
    )

    run = tenants.run("drift", "schedule", tenants.repo.schedule_event(CRON))

    assert run.conclusion == "success", run.failures()
    assert sorted(a["name"] for a in tenants.github.artifacts(REPO, run.id)) == [
        f"audit-checkpoint-staging-{run.id}",
        "certgov-snapshot-production",
        "certgov-snapshot-staging",
    ]
    staging, production = run.jobs["drift"].instances
    # The action with the server extra, audit-checkpoint and the upload: run in staging only.
    assert [[s.outcome for s in job.steps[-3:]] for job in (staging, production)] == [
        ["success"] * 3,
        ["skipped"] * 3,
    ]
    assert [s.annotations for s in production.steps if s.name.startswith("the audit")] == [
        [
            "notice: audit checkpoint skipped: neither CERTGOV_PRODUCTION_AUDIT_DATABASE_URL nor "
            "CERTGOV_PRODUCTION_CHECKPOINT_KEY is set in this GitHub environment; set both where "
            "you run certgov's reference server (a SaaS tenant has no database to read; "
            "docs/github.md says how)"
        ]
    ]
    checkpoint = tmp_path / "staging-checkpoint.json"
    kept = _artifact_of(tenants, run, f"audit-checkpoint-staging-{run.id}")
    checkpoint.write_bytes(kept["checkpoint.json"])
    verified = _verify_audit(
        tenants.servers["staging"],
        *("--checkpoint", str(checkpoint), "--checkpoint-key", str(key.public_file)),
    )
    assert (verified.returncode, verified.stderr) == (0, "")


def _artifact_of(tenants: Tenants, run: Run, name: str) -> dict[str, bytes]:
    (found,) = [a for a in tenants.github.artifacts(REPO, run.id) if a["name"] == name]
    with zipfile.ZipFile(io.BytesIO(tenants.github.archive(found["id"]))) as archive:
        return {item: archive.read(item) for item in archive.namelist()}


def _out_of_band(body: str) -> list[str]:
    """The objects of the out-of-band table of a drift issue."""
    return re.findall(r"^\| `([^`]+)` \|", body, flags=re.MULTILINE)


def _signed(hook: Webhook) -> list[dict[str, Any]]:
    messages = []
    for received in hook.received:
        assert received.headers["X-Certgov-Signature"] == signature(NOTIFY_KEY, received.body)
        messages.append(json.loads(received.body))
    return messages
