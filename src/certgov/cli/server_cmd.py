"""`certgov server`: serve the reference CLM server, bootstrap its first admin, check its audit
chain and sign checkpoints of it, or do all that in one go with `quickstart`."""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from certgov.errors import CertgovError, UsageError

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
DEFAULT_PORT = 8200
QUICKSTART_ADMIN = "bootstrap-admin"  # the name examples/quickstart ignores (bootstrap-*)


def _settings(
    database: str,
    trusted_proxy: tuple[str, ...] = (),
    rate_limit: float = 20.0,
    audit_key: str | None = None,
) -> Any:
    from certgov.server.settings import ServerConfigError, Settings

    try:
        return Settings(
            database_url=database,
            trusted_proxies=trusted_proxy,
            rate_limit=rate_limit,
            audit_key_file=audit_key,
        )
    except ServerConfigError as exc:
        raise UsageError(str(exc)) from None


def _key_path(database: str, audit_key: str | None) -> Path:
    from certgov.server.settings import ServerConfigError, audit_key_path

    try:
        return audit_key_path(database, audit_key)
    except ServerConfigError as exc:
        raise UsageError(str(exc)) from None


def _open_store(database: str, audit_key: Path | None = None) -> Any:
    """The store over `database`, its schema created when missing (as the server would); with
    `audit_key`, able to append to the audit log (the key made when the log is empty)."""
    from sqlalchemy.exc import SQLAlchemyError

    from certgov.server.auditkey import keyed_store
    from certgov.server.settings import ServerConfigError
    from certgov.server.store import Store

    try:
        if audit_key is not None:
            return keyed_store(database, audit_key)
        store = Store(database)
        store.create_schema()
        return store
    except ServerConfigError as exc:
        raise CertgovError(str(exc)) from None
    except (SQLAlchemyError, ValueError) as exc:
        raise CertgovError(f"cannot open the database {database}: {exc}") from None


def _read_log(database: str, read: Callable[[Any], T]) -> T:
    """What `read` answers in one read-only transaction of the database's store."""
    store = _open_store(database)
    try:
        with store.reading() as tx:
            return read(tx)
    finally:
        store.close()


@contextmanager
def _refusals() -> Iterator[None]:
    """Keys and checkpoints that cannot be used, as the CLI's errors (their text says why)."""
    from certgov.server.checkpoint import CheckpointError
    from certgov.server.settings import ServerConfigError

    try:
        yield
    except (ServerConfigError, CheckpointError) as exc:
        raise CertgovError(str(exc)) from None


def _serve(settings: Any, host: str, port: int, log_level: str) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from certgov.server.serve import serve
    from certgov.server.settings import ServerConfigError

    try:
        serve(settings, host, port, log_level)
    except SQLAlchemyError as exc:
        raise CertgovError(f"cannot open the database {settings.database_url}: {exc}") from None
    except ServerConfigError as exc:
        # What the server refuses to start with says what to do about it.
        raise CertgovError(str(exc)) from None


def _database_option() -> Callable[[F], F]:
    from certgov.server.settings import DEFAULT_DATABASE_URL

    option: Callable[[F], F] = click.option(
        "--database",
        default=DEFAULT_DATABASE_URL,
        show_default=True,
        help="sqlite:///path.db or postgresql+psycopg://user@host/db",
    )
    return option


def _audit_key_option() -> Callable[[F], F]:
    option: Callable[[F], F] = click.option(
        "--audit-key",
        envvar="CERTGOV_AUDIT_KEY_FILE",
        metavar="FILE",
        type=click.Path(dir_okay=False),
        help="The key of the audit chain, kept outside the database (also "
        "CERTGOV_AUDIT_KEY_FILE). Default for SQLite: <database file>.audit-key; required for "
        "PostgreSQL.",
    )
    return option


@click.group(invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535))
@_database_option()
@click.option(
    "--trusted-proxy",
    multiple=True,
    metavar="CIDR",
    help="A proxy whose X-Forwarded-For is believed (repeatable; never 0.0.0.0/0 or ::/0).",
)
@click.option(
    "--rate-limit",
    default=20.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Login and validate calls per second per client address (burst twice that; 0 = off).",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
@_audit_key_option()
@click.pass_context
def server(
    ctx: click.Context,
    host: str,
    port: int,
    database: str,
    trusted_proxy: tuple[str, ...],
    rate_limit: float,
    log_level: str,
    audit_key: str | None,
) -> None:
    """Serve the reference CLM server (the contract's /api/v1) until interrupted."""
    if ctx.invoked_subcommand is not None:
        return
    settings = _settings(database, trusted_proxy, rate_limit, audit_key)
    _serve(settings, host, port, log_level)


def _write_credentials(path: Path, credentials: dict[str, str]) -> None:
    """Mode 0600 from the start; refuses to replace an existing file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(credentials, out, indent=2)
        out.write("\n")


def _bootstrap(
    database: str, name: str, out: Path, expires_in_days: int, audit_key: str | None = None
) -> dict[str, str]:
    from certgov.server.bootstrap import bootstrap_admin
    from certgov.server.problems import ApiProblem
    from certgov.server.settings import utc_now
    from certgov.server.store.errors import StoreError

    if out.exists():
        raise UsageError(f"{out} exists already; refusing to overwrite it")
    if not out.parent.is_dir():
        raise UsageError(f"{out.parent} is not a directory")
    store = _open_store(database, _key_path(database, audit_key))
    try:
        credentials = bootstrap_admin(store, name, utc_now(), expires_in_days)
    except (ApiProblem, StoreError) as exc:
        raise CertgovError(f"cannot create the admin account: {exc}") from None
    finally:
        store.close()
    _write_credentials(out, credentials)
    return credentials


@server.command("bootstrap-admin")
@_database_option()
@click.option("--name", required=True, help="Name of the admin account.")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Credentials file to create (mode 0600).",
)
@click.option("--expires-in-days", default=365, show_default=True, type=click.IntRange(min=1))
@_audit_key_option()
def bootstrap_admin_cmd(
    database: str, name: str, out: Path, expires_in_days: int, audit_key: str | None
) -> None:
    """Create the first admin account and write its credentials to a new file (and the audit
    key, mode 0600, when the database is new)."""
    credentials = _bootstrap(database, name, out, expires_in_days, audit_key)
    click.echo(f"created admin account {name!r} ({credentials['uuid']})")
    click.echo(f"credentials written to {out} (mode 0600); the secret is shown nowhere else")


@server.command("verify-audit")
@_database_option()
@_audit_key_option()
@click.option(
    "--checkpoint",
    "checkpoints",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A checkpoint from audit-checkpoint whose event must still be in the log, unchanged "
    "(repeatable).",
)
@click.option(
    "--checkpoint-key",
    metavar="PUBLIC_KEY_FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The Ed25519 public key (PEM) the checkpoints must be signed with.",
)
def verify_audit_cmd(
    database: str, audit_key: str | None, checkpoints: tuple[Path, ...], checkpoint_key: Path | None
) -> None:
    """Check every event of the audit chain with its key, and every checkpoint; exit 1 naming
    the first event or checkpoint that does not hold."""
    from certgov.server.audit import ChainBreak, verify_chain
    from certgov.server.auditkey import read_key
    from certgov.server.checkpoint import public_key, read

    if checkpoints and checkpoint_key is None:
        raise UsageError(
            "--checkpoint needs --checkpoint-key PUBLIC_KEY_FILE: a checkpoint is checked with "
            "the key you trust, never with one it carries"
        )
    with _refusals():
        key = read_key(_key_path(database, audit_key))
        trusted = public_key(checkpoint_key) if checkpoint_key is not None else None
        signed = [read(path, trusted) for path in checkpoints if trusted is not None]

    def check(tx: Any) -> tuple[Any, ChainBreak | None]:
        head = tx.audit.head()
        return head, verify_chain(tx.audit.in_order(), key, head, signed)

    head, problem = _read_log(database, check)
    if problem is not None:
        raise CertgovError(str(problem))
    click.echo(f"audit chain intact: {head.last_id} events")
    for checkpoint in signed:
        click.echo(f"{checkpoint.origin} holds: event {checkpoint.event_id}")


@server.command("audit-checkpoint")
@_database_option()
@click.option(
    "--signing-key",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Ed25519 private key (PEM) kept outside the database; made (0600, with FILE.pub beside "
    "it) when missing.",
)
def audit_checkpoint_cmd(database: str, signing_key: Path) -> None:
    """Print a signed checkpoint of the audit log's head as JSON; keep it outside the database
    and give it to verify-audit --checkpoint later."""
    from certgov.server.checkpoint import sign
    from certgov.server.checkpoint import signing_key as load_signing_key
    from certgov.server.context import iso
    from certgov.server.settings import utc_now

    with _refusals():
        key = load_signing_key(signing_key)

    def last(tx: Any) -> tuple[Any, dict[str, Any] | None]:
        head = tx.audit.head()
        return head, tx.audit.get(head.last_id) if head.last_id else None

    head, event = _read_log(database, last)
    if event is None or event["hash"] != head.last_hash:
        raise CertgovError(
            f"the audit log's head (event {head.last_id}) is not an event of the log: nothing "
            "to checkpoint"
        )
    click.echo(json.dumps(sign(event, key, iso(utc_now())), indent=2))


def quickstart_text(workdir: Path, port: int, credentials_file: Path) -> str:
    """What quickstart prints: where the server is and how to log in without showing the secret."""
    url = f"http://127.0.0.1:{port}/api/v1"
    creds = shlex.quote(str(credentials_file))
    login = (
        f"curl -s -H 'Content-Type: application/json' --data @{creds} {url}/service-account/auth"
    )
    token = (
        f"TOKEN=$({login} | python3 -c 'import json,sys; print(json.load(sys.stdin)"
        '["session"]["token"])\')'
    )
    return "\n".join(
        [
            "certgov reference server",
            f"  API:          {url}",
            f"  database:     {workdir / 'certgov-server.db'}",
            f"  audit key:    {workdir / 'certgov-server.db.audit-key'} (the audit log verifies "
            "only with it; keep it)",
            f"  credentials:  {credentials_file} (admin account; keep this file secret)",
            "",
            "Log in (the secret is read from the file, never printed):",
            f"  {token}",
            f'  curl -s -H "Authorization: Bearer $TOKEN" {url}/service-account/auth/verify',
            "",
            "Press Ctrl-C to stop.",
        ]
    )


@server.command("quickstart")
@click.option(
    "--workdir",
    default="certgov-quickstart",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the database and the admin credentials.",
)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535))
def quickstart_cmd(workdir: Path, port: int) -> None:
    """Serve a local SQLite database with an admin account, and say how to call it."""
    from certgov.server.bootstrap import account_exists

    workdir.mkdir(parents=True, exist_ok=True)
    workdir = workdir.resolve()
    database = f"sqlite:///{workdir / 'certgov-server.db'}"
    credentials_file = workdir / "admin-credentials.json"
    if credentials_file.exists():
        uuid = json.loads(credentials_file.read_text(encoding="utf-8")).get("uuid", "")
        store = _open_store(database, _key_path(database, None))
        try:
            known = account_exists(store, str(uuid))
        finally:
            store.close()
        if not known:
            raise UsageError(
                f"{credentials_file} names an account this database does not have; "
                "remove the file to bootstrap a new admin"
            )
    else:
        _bootstrap(database, QUICKSTART_ADMIN, credentials_file, 365)
    click.echo(quickstart_text(workdir, port, credentials_file))
    _serve(_settings(database), "127.0.0.1", port, "info")
