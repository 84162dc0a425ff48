"""The secret canary scan: the whole product runs on a fresh server (validate, lint, test, plan
in every format, apply with creates and rotations, import, drift, rollout status, --debug runs,
runs failed on purpose), then every output is searched for every client secret and session
token issued during the run, in every form a leak could take. Expected: no hit outside the
secret store.

The command store's own promise (the secret never in its child's argv or environment, read
from /proc/<pid>/cmdline and environ) is proved in tests/stores/test_command_store.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from click.testing import CliRunner, Result

from certgov.cli import cli
from certgov.client import ClmClient, Credentials
from tests.faults.proxy import Fault, FaultProxy, Rule, writes
from tests.faults.test_server_kill import server_process
from tests.gitops.webhook_fake import webhook
from tests.hardening.canary import Hit, files_under, harvesting, scan
from tests.hardening.figures_record import record
from tests.integration.crashrepo import login_failures, write_repo

# A hostile command store: it echoes the record it was given (secret included) to stderr and
# fails, so the error path must mask it.
LEAKY_STORE = """import pathlib, sys
operation, path = sys.argv[1], sys.argv[2]
if operation == "read-meta":
    record = pathlib.Path(".certgov-secrets", path + ".json")
    if record.exists():
        print(record.read_text())
    sys.exit(0)
sys.stderr.write("refused record: " + sys.stdin.read())
sys.exit(1)
"""


class Session:
    """Runs certgov commands in-process and keeps every output."""

    def __init__(self, url: str, admin: Path) -> None:
        self.url = url
        self.admin = admin
        self.outputs: list[tuple[str, bytes]] = []

    def run(self, *args: str, api: bool = True, ok: tuple[int, ...] = (0,)) -> Result:
        full = [*args, "--url", self.url, "--credentials", str(self.admin)] if api else [*args]
        result = CliRunner().invoke(cli, full)
        label = " ".join(args)
        self.outputs.append((f"stdout+stderr of `certgov {label}`", result.output.encode()))
        self.outputs.append((f"stderr of `certgov {label}`", result.stderr.encode()))
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            label,
            repr(result.exception),
        )
        assert result.exit_code in ok, (label, result.output)
        return result


def test_no_secret_or_token_leaves_the_secret_store(tmp_path: Path) -> None:
    database = tmp_path / "server.db"
    repo = write_repo(tmp_path / "repo", 8, 3)
    store = repo / ".certgov-secrets"
    with (
        harvesting() as harvest,
        server_process(f"sqlite:///{database}", tmp_path, "debug") as (server, admin),
        webhook() as hook,
    ):
        s = Session(server.url, admin)
        s.run("validate", str(repo), api=False)
        s.run("lint", str(repo), api=False, ok=(0, 1))
        s.run("lint", str(repo), "--format", "sarif", api=False, ok=(0, 1))
        s.run("test", str(repo))
        s.run("plan", str(repo), "--out", str(tmp_path / "plan.json"), ok=(0, 2))
        s.run("plan", str(repo), "--format", "json", ok=(0, 2))
        s.run("plan", str(repo), "--format", "markdown", ok=(0, 2))
        s.run("apply", str(tmp_path / "plan.json"), "--format", "json")
        s.run("--debug", "apply", str(repo), "--auto-approve")
        # Rotations: records gone from the store make the next apply regenerate those secrets.
        for name in ("acct-000", "acct-001", "acct-002"):
            (store / "accounts" / f"{name}.json").unlink()
        s.run("--debug", "plan", str(repo), "--format", "markdown", ok=(0, 2))
        s.run(
            "--debug",
            "apply",
            str(repo),
            "--auto-approve",
            "--format",
            "json",
            "--notify",
            hook.url,
        )
        s.run("import", "--out", str(tmp_path / "imported"))
        s.run("--debug", "drift", str(repo), "--notify", hook.url, ok=(0, 1, 2, 4, 6))
        s.run("drift", str(repo), "--format", "markdown", ok=(0, 1, 2, 4, 6))
        s.run("rollout", "status", str(repo), ok=(0, 1))
        # Failed on purpose: every write answered 500, with --debug tracebacks and logs.
        (store / "accounts" / "acct-003.json").unlink()
        with FaultProxy(server.url, [Rule(Fault.STATUS_500, writes)]) as proxy:
            s.url = proxy.url
            s.run("--debug", "apply", str(repo), "--auto-approve", ok=(1,))
            s.url = server.url
        # Failed on purpose: a store that prints the record it was handed, secret included.
        leaky = tmp_path / "leaky.py"
        leaky.write_text(LEAKY_STORE)
        config = (repo / "certgov.yaml").read_text()
        command = json.dumps({"type": "command", "command": [sys.executable, str(leaky)]})
        (repo / "certgov.yaml").write_text(
            config.replace("local: {type: file, path: .certgov-secrets}", f"local: {command}")
        )
        (store / "accounts" / "acct-004.json").unlink()
        s.run("--debug", "apply", str(repo), "--auto-approve", ok=(1,))
        (repo / "certgov.yaml").write_text(config)
        s.run("apply", str(repo), "--auto-approve")
        assert login_failures(server.url, repo) == []
        with ClmClient(server.url, Credentials.from_file(admin)) as client:
            events = client.audit_events()
    admin_secret = json.loads(admin.read_text())["client_secret"]
    secrets = {f"secret:{i}": v for i, v in enumerate(sorted(harvest.secrets | {admin_secret}))}
    tokens = {f"token:{i}": v for i, v in enumerate(sorted(harvest.tokens))}
    places = [
        *s.outputs,
        ("the audit log (API)", json.dumps(events).encode()),
        *((f"the notification to {r.path}", r.body) for r in hook.received),
        *files_under(tmp_path, skip=[store, admin]),
    ]
    # Control: the scanner finds the secrets where they belong.
    assert scan(files_under(store, skip=[]), secrets) != []
    hits: list[Hit] = scan(places, {**secrets, **tokens})
    record("canary secrets", len(secrets))
    record("canary tokens", len(tokens))
    record("canary places", len(places))
    record("canary hits", len(hits))
    assert len(secrets) >= 8 + 3 + 1 + 1
    assert len(tokens) >= 10
    assert {"server.log", "server.db"} <= {where for where, _ in places}
    assert [json.loads(r.body)["event"] for r in hook.received] == ["apply", "drift"]
    # The leaky store's echo reached the output, with the secret masked.
    assert any(b'refused record: {"client_id":' in out for _, out in s.outputs)
    assert any(b'"client_secret":"***"' in out for _, out in s.outputs)
    assert hits == []
