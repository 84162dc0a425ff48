"""`certgov demo`: the whole loop on one machine, on the embedded default (SQLite).

Starts the reference server on a fresh database, bootstraps an admin, copies the quickstart
example, and runs validate → plan → apply → plan (no changes) → a policy change and its plan →
two certificate requests (one warned, one blocked) → the audit events they produced. Last, two
more reference servers, staging and production, and `examples/environments` applied to both
from one repository: a shared policy change planned in each, and production's rollout waiting
for staging's.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import httpx

from certgov.client import ClmClient, Credentials
from certgov.errors import DemoError, PolicyViolationError
from certgov.resources import data_dir

ADMIN = "bootstrap-admin"
WARNED_REQUEST = {
    "action": "certificate.generate",
    "common_name": "api.dev.example.com",
    "sans": {"dns": ["api.dev.example.com"]},
    "key": {"algorithm": "ecdsa", "size": 256},
    "digest": "sha256",
    "validity_days": 90,
}
BLOCKED_REQUEST = {
    "action": "certificate.generate",
    "common_name": "www.example.com",
    "sans": {"dns": ["www.example.com"]},
    "key": {"algorithm": "rsa", "size": 2048},
    "digest": "sha256",
    "validity_days": 90,
    "is_ca": True,
}


def _heading(n: int, text: str) -> None:
    click.echo()
    click.secho(f"━━ {n}. {text} ", bold=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _certgov(*args: str, expect: tuple[int, ...] = (0,), env: dict[str, str] | None = None) -> int:
    """Run a certgov command as a user would, its output straight to the terminal."""
    click.secho("$ certgov " + " ".join(args), fg="cyan")
    code = subprocess.call([sys.executable, "-m", "certgov", *args], env=env)
    if code not in expect:
        raise DemoError(f"`certgov {' '.join(args)}` exited {code}, expected {expect}")
    return code


@contextmanager
def _server(database_url: str, port: int, log: Path) -> Iterator[str]:
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "certgov",
                "server",
                "--database",
                database_url,
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise DemoError(f"the reference server did not start; see {log}")
                time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _certificate_requests(url: str, credentials: Path) -> None:
    with ClmClient(url, Credentials.from_file(credentials)) as client:
        data = client.request_certificate(WARNED_REQUEST)
        click.echo(f"api.dev.example.com (90 days): {data['result']}")
        for v in data.get("violations") or ():
            click.echo(f"  {v['fail']} {v['policy']} / {v['rule']}: {v['message']}")
        try:
            client.request_certificate(BLOCKED_REQUEST)
        except PolicyViolationError as exc:
            click.echo(f"www.example.com (CA:TRUE, RSA 2048): blocked\n  {exc.message}")
        else:
            raise DemoError("the CA request was not blocked")


def _audit(url: str, credentials: Path) -> None:
    with ClmClient(url, Credentials.from_file(credentials)) as client:
        events = client.audit_events(type="certificate.requested")
    for event in reversed(events):
        details = event.get("details") or {}
        rules = ", ".join(sorted({v["rule"] for v in details.get("violations") or ()}))
        click.echo(
            f"#{event['id']} {event['occurred_at']} {event['type']} by "
            f"{event['actor'].get('name')}: result {details.get('result')} ({rules})"
        )


ENVIRONMENTS = {"staging": "http://127.0.0.1:8201", "production": "http://127.0.0.1:8202"}
"""The environments of examples/environments, and the servers its certgov.yaml names."""


@contextmanager
def _environment_servers(root: Path, port: int) -> Iterator[tuple[list[str], dict[str, str]]]:
    """Staging and production: a database with an admin each, both served in this process
    (one start-up for the two); and the variables that hold their admins' credentials."""
    import threading

    import uvicorn

    from certgov.cli.server_cmd import _bootstrap
    from certgov.server import Settings, create_app

    env, urls, running = dict(os.environ), [], []
    try:
        for n, name in enumerate(ENVIRONMENTS, start=1):
            database = f"sqlite:///{root / f'{name}.db'}"
            for key, value in _bootstrap(database, ADMIN, root / f"{name}-admin.json", 365).items():
                env[f"CERTGOV_{name.upper()}_{key.upper()}"] = value
            config = uvicorn.Config(
                create_app(Settings(database_url=database)),
                port=port + n if port else _free_port(),
                log_level="warning",
                access_log=False,
            )
            server = uvicorn.Server(config)
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            running.append((server, thread))
            urls.append(f"http://127.0.0.1:{config.port}")
        for server, thread in running:
            deadline = time.monotonic() + 30
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    raise DemoError("a reference server of the environments did not start")
                time.sleep(0.05)
        yield urls, env
    finally:
        for server, thread in running:
            server.should_exit = True
            thread.join(timeout=10)


def _environments(root: Path, urls: list[str], env: dict[str, str]) -> None:
    """Staging and production on two reference servers, from one repository."""
    repo = root / "environments"
    shutil.copytree(data_dir("examples") / "environments", repo)
    config = (repo / "certgov.yaml").read_text()
    for (name, example_url), url in zip(ENVIRONMENTS.items(), urls, strict=True):
        config = config.replace(example_url, url)
        click.echo(f"{name}: a reference server at {url}; its admin in CERTGOV_{name.upper()}_*")
    (repo / "certgov.yaml").write_text(config)
    click.echo(f"one repository for both: {repo} (their servers set in its certgov.yaml)")
    _certgov("validate", str(repo), env=env)
    for name in ENVIRONMENTS:
        _certgov("apply", str(repo), "--env", name, "--auto-approve", env=env)
    click.echo("Change the shared Web Baseline (max_days 397 → 200), and plan each environment:")
    web = repo / "policies" / "web-baseline.yaml"
    web.write_text(web.read_text().replace("max_days: 397", "max_days: 200"))
    for name in ENVIRONMENTS:
        _certgov("plan", str(repo), "--env", name, "--detailed-exitcode", expect=(2,), env=env)


@click.command("demo")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False),
    help="Where to put the database, the example repo and the logs [default: a new temp folder].",
)
@click.option("--port", type=int, default=0, help="Port of the server [default: a free one].")
def demo(workdir: str | None, port: int) -> None:
    """Run the whole loop against a reference server on a fresh SQLite database."""
    root = Path(workdir or tempfile.mkdtemp(prefix="certgov-demo-")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise DemoError(f"{root} is not empty: pass an empty or new --workdir")
    database = f"sqlite:///{root / 'server.db'}"
    credentials = root / "admin-credentials.json"
    repo = root / "repo"
    shutil.copytree(data_dir("examples") / "quickstart", repo)
    started = time.monotonic()

    _heading(1, "Bootstrap an admin account on a fresh SQLite database")
    _certgov(
        "server",
        "bootstrap-admin",
        "--database",
        database,
        "--name",
        ADMIN,
        "--out",
        str(credentials),
    )
    with (
        _server(database, port or _free_port(), root / "server.log") as url,
        _environment_servers(root, port) as (env_urls, env),
    ):
        click.echo(f"reference server at {url} (log: {root / 'server.log'})")
        api = ("--url", url, "--credentials", str(credentials))

        _heading(2, "Validate the quickstart declarations (offline)")
        _certgov("validate", str(repo))
        _heading(3, "Plan: everything is new")
        plan_file = root / "plan.json"
        _certgov("plan", str(repo), "--out", str(plan_file), *api)
        _heading(4, "Apply exactly that plan; secrets go to the file store, nowhere else")
        _certgov("apply", str(plan_file), *api)
        _heading(5, "Plan again: nothing to do")
        _certgov("plan", str(repo), "--detailed-exitcode", *api)
        _heading(6, "Change one policy (Development Policy: max_days 30 → 14) and plan")
        dev = repo / "policies" / "development.yaml"
        dev.write_text(dev.read_text().replace("max_days: 30", "max_days: 14"))
        _certgov("plan", str(repo), "--detailed-exitcode", *api, expect=(2,))
        _heading(7, "Two certificate requests: one warned, one blocked")
        _certificate_requests(url, credentials)
        _heading(8, "The audit events those requests produced")
        _audit(url, credentials)
        _heading(9, "Environments: staging and production from one repository")
        _environments(root, env_urls, env)
    click.echo()
    click.secho(f"Demo complete in {time.monotonic() - started:.1f} s.", bold=True)
    click.echo(f"  workdir:      {root}")
    click.echo(f"  database:     {root / 'server.db'}")
    click.echo(f"  declarations: {repo}")
    click.echo(f"  secrets:      {repo / '.certgov-secrets'} (mode 0600 files; never printed)")
    click.echo(f"  admin:        {credentials}")
    click.echo(f"  server log:   {root / 'server.log'}")
    click.echo(f"  environments: {root / 'environments'} (staging.db, production.db beside it)")
