"""A dump of the database holds no plaintext secret or token (contract §3)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy import make_url

from tests.server.conftest import Harness


def dump(db_url: str) -> bytes:
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        base = Path(str(url.database))
        files = [base, base.with_name(base.name + "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    command = ["pg_dump", "-h", url.host or "127.0.0.1", "-U", url.username or "postgres"]
    command += ["-p", str(url.port or 5432), str(url.database)]
    return subprocess.run(command, capture_output=True, check=True).stdout


def test_dump_holds_no_plaintext_secret_or_token(h: Harness, db_url: str) -> None:
    admin = h.as_admin()
    account, creds = h.new_account(admin, "ci", ["read"])
    token = h.login(creds)
    regenerated = admin.post(f"/service/service-accounts/{account['uuid']}/regenerate-secret")
    secrets = [
        h.admin_credentials["client_secret"],
        creds["client_secret"],
        regenerated.json()["credentials"]["client_secret"],
        token,
    ]
    data = dump(db_url)
    assert account["uuid"].encode() in data  # the dump is real: it holds the account
    assert [s for s in secrets if s.encode() in data] == []
