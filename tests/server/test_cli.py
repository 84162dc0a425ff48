"""`certgov server bootstrap-admin` and friends, in-process."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

from click.testing import CliRunner

from certgov.cli.main import cli
from certgov.server.netaddr import client_address, parse_address, parse_allowlist


def bootstrap(db: str, out: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli,
        [
            "server",
            "bootstrap-admin",
            "--database",
            db,
            "--name",
            "root",
            "--out",
            str(out),
            *extra,
        ],
    )
    return result.exit_code, result.output


def test_bootstrap_admin_writes_a_private_credentials_file(tmp_path: Path) -> None:
    out = tmp_path / "admin.json"
    code, output = bootstrap(f"sqlite:///{tmp_path / 'db.sqlite'}", out)
    creds = json.loads(out.read_text())
    assert code == 0
    assert output == (
        f"created admin account 'root' ({creds['uuid']})\n"
        f"credentials written to {out} (mode 0600); the secret is shown nowhere else\n"
    )
    assert sorted(creds) == ["client_id", "client_secret", "uuid"]
    assert re.fullmatch(r"[A-Za-z0-9]{64}", creds["client_secret"])
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_bootstrap_admin_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "admin.json"
    out.write_text("keep me")
    code, output = bootstrap(f"sqlite:///{tmp_path / 'db.sqlite'}", out)
    assert (code, output) == (1, f"error: {out} exists already; refusing to overwrite it\n")
    assert out.read_text() == "keep me"


def test_bootstrap_admin_refuses_a_missing_directory(tmp_path: Path) -> None:
    out = tmp_path / "nowhere" / "admin.json"
    code, output = bootstrap(f"sqlite:///{tmp_path / 'db.sqlite'}", out)
    assert (code, output) == (1, f"error: {out.parent} is not a directory\n")


def test_bootstrap_admin_with_a_taken_name_fails_cleanly(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    bootstrap(db, tmp_path / "a.json")
    code, output = bootstrap(db, tmp_path / "b.json")
    assert (code, output) == (
        1,
        "error: cannot create the admin account: a service account named 'root' already exists\n",
    )
    assert not (tmp_path / "b.json").exists()


def test_bootstrap_admin_reports_an_unreachable_database(tmp_path: Path) -> None:
    code, output = bootstrap(
        "postgresql+psycopg://nobody@127.0.0.1:1/none",
        tmp_path / "a.json",
        "--audit-key",
        str(tmp_path / "audit.key"),
    )
    assert code == 1
    assert output.startswith(
        "error: cannot open the database postgresql+psycopg://nobody@127.0.0.1:1/none: "
    )


def test_quickstart_refuses_credentials_for_another_database(tmp_path: Path) -> None:
    workdir = tmp_path / "qs"
    workdir.mkdir()
    (workdir / "admin-credentials.json").write_text(json.dumps({"uuid": "gone"}))
    result = CliRunner().invoke(cli, ["server", "quickstart", "--workdir", str(workdir)])
    assert (result.exit_code, result.output) == (
        1,
        f"error: {workdir.resolve() / 'admin-credentials.json'} names an account this database "
        "does not have; remove the file to bootstrap a new admin\n",
    )


# -- client addresses ---------------------------------------------------------------------------

TRUSTED = parse_allowlist(["10.0.0.0/8", "2001:db8::/32"])


def test_ipv4_mapped_addresses_unwrap() -> None:
    assert str(parse_address("::ffff:192.0.2.1")) == "192.0.2.1"


def test_untrusted_peer_is_the_client_whatever_it_forwards() -> None:
    assert str(client_address("192.0.2.1", ["198.51.100.1"], TRUSTED)) == "192.0.2.1"


def test_trusted_peer_forwarding_only_trusted_hops_names_the_leftmost() -> None:
    assert str(client_address("10.0.0.1", ["10.0.0.2, 10.0.0.3"], TRUSTED)) == "10.0.0.2"


def test_trusted_ipv6_peer_forwards_across_several_headers() -> None:
    found = client_address("2001:db8::1", ["198.51.100.9", "203.0.113.4, 10.1.1.1"], TRUSTED)
    assert str(found) == "203.0.113.4"


def test_trusted_peer_without_forwarded_for_is_the_client() -> None:
    assert str(client_address("10.0.0.1", [], TRUSTED)) == "10.0.0.1"


def test_unknown_peer_has_no_address() -> None:
    assert client_address(None, ["192.0.2.1"], TRUSTED) is None
    assert client_address("testclient", [], TRUSTED) is None
