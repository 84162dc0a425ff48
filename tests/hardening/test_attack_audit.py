"""An audit log that survives its own database (issue 21, points 11 and 12).

Whoever could write the database could rewrite the chain: change an event and recompute every
hash after it, or delete the newest events and move the head back, and `verify-audit` still said
"intact". Now each hash is an HMAC under a key outside the database, and signed checkpoints of the
head, kept outside it too, prove that the log still holds what they signed. The tamper tests edit
the database directly, each of three ways, on SQLite and PostgreSQL, and compare the whole output
of `certgov server verify-audit`, with the audit key alone where that suffices and with a
checkpoint where only a checkpoint can catch it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from certgov.cli.main import cli
from certgov.server.audit import GENESIS, canonical_json, event_hash
from certgov.server.store import Store
from tests.server.conftest import Harness

ACCOUNTS = "/service/service-accounts"


def certgov(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def write_key(path: Path) -> Path:
    path.write_text(secrets.token_hex(32) + "\n")
    path.chmod(0o600)
    return path


# -- point 11: a keyed chain ----------------------------------------------------------------------


def test_bootstrap_admin_makes_the_audit_key_beside_a_sqlite_database(tmp_path: Path) -> None:
    db = tmp_path / "server.db"
    code, _ = certgov(
        "server", "bootstrap-admin", "--database", f"sqlite:///{db}", "--name", "root",
        "--out", str(tmp_path / "admin.json"),
    )  # fmt: skip
    key = Path(f"{db}.audit-key")
    assert (code, oct(stat.S_IMODE(key.stat().st_mode))) == (0, "0o600")
    assert len(bytes.fromhex(key.read_text())) == 32


def test_postgresql_needs_the_audit_key_named(tmp_path: Path) -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/none"
    message = (
        "error: a PostgreSQL database needs --audit-key FILE (or CERTGOV_AUDIT_KEY_FILE): the key "
        "of the audit chain is kept outside the database, so that who can write the database "
        "cannot rewrite the chain\n"
    )
    out = str(tmp_path / "admin.json")
    assert certgov("server", "--database", url) == (1, message)
    assert certgov("server", "bootstrap-admin", "--database", url, "--name", "r", "--out", out) == (
        1,
        message,
    )
    assert certgov("server", "verify-audit", "--database", url) == (1, message)


def test_a_server_started_with_another_key_refuses_naming_event_1(
    h: Harness, db_url: str, tmp_path: Path
) -> None:
    other = write_key(tmp_path / "other.key")
    code, output = certgov("server", "--database", db_url, "--audit-key", str(other))
    assert (code, output) == (
        1,
        f"error: the audit key {other} does not verify event 1 of the audit log: start the "
        "server with the key the log was written with (`certgov server verify-audit` checks "
        "every event)\n",
    )


def test_a_server_whose_audit_key_is_gone_refuses_to_make_another(h: Harness, db_url: str) -> None:
    h.as_admin()  # a login: the log holds 2 events
    key = Path(h.audit_key_file)
    key.unlink()
    code, output = certgov("server", "--database", db_url, "--audit-key", str(key))
    assert (code, output) == (
        1,
        f"error: the audit key {key} does not exist, and the audit log holds 2 events written "
        "with it: put the key back (a new key would verify none of them)\n",
    )
    assert not key.exists()


def test_an_audit_key_others_can_read_is_refused(h: Harness, db_url: str) -> None:
    key = Path(h.audit_key_file)
    key.chmod(0o640)
    assert certgov("server", "verify-audit", "--database", db_url, "--audit-key", str(key)) == (
        1,
        f"error: the audit key {key} can be read by other users (mode 0640), and it holds the "
        f"key of the audit chain: run `chmod 600 {key}`\n",
    )


# -- point 12: checkpoints, and the three tamperings ----------------------------------------------


class Tampering:
    """The log of a harness, its audit key, a checkpoint of it, and direct edits of its rows."""

    def __init__(self, h: Harness, url: str, folder: Path) -> None:
        self.h, self.url, self.folder = h, url, folder
        admin = h.as_admin()
        for name in ("a", "b", "c", "d"):  # events 3 to 6, after bootstrap (1) and login (2)
            h.new_account(admin, name, ["read"])
        self.signing_key = folder / "checkpoint.key"
        code, printed = certgov(
            "server", "audit-checkpoint", "--database", url, "--signing-key", str(self.signing_key)
        )
        assert code == 0, printed
        self.checkpoint = folder / "checkpoint-6.json"
        self.checkpoint.write_text(printed)
        self.signed_at = json.loads(printed)["checkpoint"]["signed_at"]
        for name in ("e", "f"):  # events 7 and 8, after the checkpoint
            h.new_account(admin, name, ["read"])

    def verify(self, *, checkpoint: bool) -> tuple[int, str]:
        args = ["server", "verify-audit", "--database", self.url]
        args += ["--audit-key", self.h.audit_key_file]
        if checkpoint:
            args += ["--checkpoint", str(self.checkpoint)]
            args += ["--checkpoint-key", f"{self.signing_key}.pub"]
        return certgov(*args)

    def events(self) -> list[dict[str, Any]]:
        store = Store(self.url)
        try:
            with store.reading() as tx:
                return list(tx.audit.in_order())
        finally:
            store.close()

    def sql(self, statement: str, **params: Any) -> None:
        engine = create_engine(self.url)
        try:
            with engine.begin() as conn:
                conn.execute(text(statement), params)
        finally:
            engine.dispose()

    def rewrite(self, event_id: int, ip: str, hashed: Callable[[dict[str, Any]], str]) -> None:
        """Change an event's actor address and recompute every hash from it, and the head."""
        prev = GENESIS
        for event in self.events():
            if event["id"] == event_id:
                event["actor"]["ip"] = ip
            if event["id"] >= event_id:
                event["prev_hash"] = prev
                event["hash"] = hashed(event)
                self.sql(
                    "UPDATE audit_events SET actor_ip = :ip, prev_hash = :prev, hash = :hash "
                    "WHERE id = :id",
                    ip=event["actor"]["ip"], prev=event["prev_hash"], hash=event["hash"],
                    id=event["id"],
                )  # fmt: skip
            prev = event["hash"]
        self.sql("UPDATE chain_head SET last_hash = :hash WHERE id = 1", hash=prev)

    def truncate(self, keep: int) -> None:
        """Delete the events after `keep` and move the head back to it."""
        last = self.events()[keep - 1]["hash"]
        self.sql("DELETE FROM audit_events WHERE id > :keep", keep=keep)
        self.sql("UPDATE chain_head SET last_id = :k, last_hash = :h WHERE id = 1", k=keep, h=last)

    def origin(self) -> str:
        return f"checkpoint {self.checkpoint} (signed {self.signed_at})"


@pytest.fixture
def log(h: Harness, db_url: str, tmp_path: Path) -> Tampering:
    return Tampering(h, db_url, tmp_path)


def sha256_of(event: dict[str, Any]) -> str:
    """The hash as it was before the key: what anyone can recompute."""
    return hashlib.sha256(
        canonical_json({k: v for k, v in event.items() if k != "hash"})
    ).hexdigest()


def test_an_intact_log_and_its_checkpoint_verify(log: Tampering) -> None:
    assert log.verify(checkpoint=True) == (
        0,
        f"audit chain intact: 8 events\n{log.origin()} holds: event 6\n",
    )


def test_an_edited_event_with_its_hashes_recomputed_without_the_key_is_named(
    log: Tampering,
) -> None:
    log.rewrite(3, "10.9.9.9", sha256_of)
    result = log.verify(checkpoint=False)
    print(f"\nedit event 3, recompute without the key: {result}")
    assert result == (
        1,
        "error: audit chain broken at event 3: hash does not match the event's content\n",
    )


def rewrite_with_the_key(log: Tampering) -> None:
    log.rewrite(3, "10.9.9.9", lambda event: event_hash(event, log.h.audit_key))


def delete_the_newest(log: Tampering) -> None:
    log.truncate(keep=5)


@pytest.mark.parametrize(
    ("tamper", "alone", "caught"),
    [
        (
            rewrite_with_the_key,
            "audit chain intact: 8 events\n",
            "error: audit chain broken at event 6: its hash is not the one {origin} holds: the "
            "log was rewritten at or before this event\n",
        ),
        (
            delete_the_newest,
            "audit chain intact: 5 events\n",
            "error: audit chain broken at event 6: missing, but {origin} holds it: the log ends "
            "at event 5, so newer events were deleted\n",
        ),
    ],
    ids=["edit-and-recompute-with-the-key", "delete-the-newest-and-move-the-head"],
)
def test_what_the_key_alone_cannot_catch_a_checkpoint_catches(
    log: Tampering, tamper: Callable[[Tampering], None], alone: str, caught: str
) -> None:
    tamper(log)
    without, with_checkpoint = log.verify(checkpoint=False), log.verify(checkpoint=True)
    print(f"\n{tamper.__name__}: {without} / {with_checkpoint}")
    assert without == (0, alone)
    assert with_checkpoint == (1, caught.format(origin=log.origin()))


def test_deleting_a_middle_event_is_named(log: Tampering) -> None:
    log.sql("DELETE FROM audit_events WHERE id = 4")
    result = log.verify(checkpoint=False)
    print(f"\ndelete event 4: {result}")
    assert result == (
        1,
        "error: audit chain broken at event 4: missing (the next event in the log is 5)\n",
    )


def test_a_checkpoint_is_checked_with_the_key_given_never_its_own(
    log: Tampering, tmp_path: Path
) -> None:
    forged = json.loads(log.checkpoint.read_text())
    forged["checkpoint"]["event_id"] = 5
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    stranger = tmp_path / "stranger.key"
    certgov("server", "audit-checkpoint", "--database", log.url, "--signing-key", str(stranger))
    common = ["server", "verify-audit", "--database", log.url, "--audit-key", log.h.audit_key_file]
    forged_file = ["--checkpoint", str(tmp_path / "forged.json")]
    ours = ["--checkpoint-key", f"{log.signing_key}.pub"]
    theirs = ["--checkpoint", str(log.checkpoint), "--checkpoint-key", f"{stranger}.pub"]
    assert certgov(*common, *forged_file, *ours) == (
        1,
        f"error: checkpoint {tmp_path / 'forged.json'}: its signature does not verify with the "
        "checkpoint key\n",
    )
    assert certgov(*common, *theirs) == (
        1,
        f"error: checkpoint {log.checkpoint}: its signature does not verify with the checkpoint "
        "key\n",
    )
    assert certgov(*common, "--checkpoint", str(log.checkpoint)) == (
        1,
        "error: --checkpoint needs --checkpoint-key PUBLIC_KEY_FILE: a checkpoint is checked with "
        "the key you trust, never with one it carries\n",
    )


def test_the_signing_key_is_made_private_with_its_public_key_beside_it(log: Tampering) -> None:
    modes = {
        p.name: oct(stat.S_IMODE(p.stat().st_mode))
        for p in (log.signing_key, Path(f"{log.signing_key}.pub"))
    }
    document = json.loads(log.checkpoint.read_text())
    assert modes == {"checkpoint.key": "0o600", "checkpoint.key.pub": "0o644"}
    assert sorted(document) == ["checkpoint", "signature"]
    assert sorted(document["checkpoint"]) == ["event_id", "hash", "occurred_at", "signed_at"]
    assert document["checkpoint"]["event_id"] == 6
