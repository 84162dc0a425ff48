"""The audit chain's key (contract §5.2): a file outside the database, which the server refuses
to start without, or with another key than the one the log was written with.

For a SQLite database the file defaults to `<database file>.audit-key`, beside it; a PostgreSQL
database has no file to stand beside, so its key file must be named. The key is made (0600) by
the first start on a database whose log is empty, `bootstrap-admin` and `quickstart` included.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from certgov.server.audit import event_hash
from certgov.server.files import create_private, refuse_open_file
from certgov.server.settings import ServerConfigError
from certgov.server.store import Store

KEY_BYTES = 32
_HOLDS = "the key of the audit chain"


def read_key(path: Path) -> bytes:
    """The key in `path`; ServerConfigError when it is missing, open to others or malformed."""
    refuse_open_file(path, "the audit key", _HOLDS)
    try:
        text = path.read_text(encoding="ascii").strip()
        key = bytes.fromhex(text)
    except FileNotFoundError:
        raise ServerConfigError(f"the audit key {path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise ServerConfigError(f"cannot read the audit key {path}: {exc}") from None
    if len(key) < KEY_BYTES:
        raise ServerConfigError(
            f"the audit key {path} must hold at least {KEY_BYTES * 2} hexadecimal digits"
        )
    return key


def open_key(path: Path, store: Store) -> bytes:
    """The key for the store's audit log: made when the file is missing and the log empty;
    refused when it does not verify the log's first and last events (a full check of every
    event is `certgov server verify-audit`'s)."""
    with store.reading() as tx:
        head = tx.audit.head()
        ends = [tx.audit.get(event_id) for event_id in sorted({1, head.last_id}) if event_id]
    if head.last_id == 0:
        create_private(path, f"{secrets.token_hex(KEY_BYTES)}\n".encode())
    elif not path.exists():
        events = f"{head.last_id} event{'s' if head.last_id > 1 else ''}"
        raise ServerConfigError(
            f"the audit key {path} does not exist, and the audit log holds {events} written "
            "with it: put the key back (a new key would verify none of them)"
        )
    key = read_key(path)
    for event in ends:
        if event is not None and event_hash(event, key) != event["hash"]:
            raise ServerConfigError(
                f"the audit key {path} does not verify event {event['id']} of the audit log: "
                "start the server with the key the log was written with (`certgov server "
                "verify-audit` checks every event)"
            )
    return key


def keyed_store(database_url: str, path: Path) -> Store:
    """The store over `database_url`, its schema made, able to append to its audit log with the
    key in `path` (see `open_key`)."""
    probe = Store(database_url)
    try:
        probe.create_schema()
        key = open_key(path, probe)
    finally:
        probe.close()
    return Store(database_url, key)
