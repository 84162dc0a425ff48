"""Contract §5.2: one event per change in the same transaction, the hash chain, the filters."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text

from certgov.cli.main import cli
from certgov.server.audit import GENESIS, ChainBreak, event_hash, verify_chain
from tests.server.conftest import Harness

ACCOUNTS = "/service/service-accounts"
EVENTS = "/service/audit-events"
UNAVAILABLE = {
    "success": False,
    "error": {
        "code": "AUDIT_UNAVAILABLE",
        "message": "the audit log cannot be written; nothing was changed",
        "details": [],
    },
}


def break_audit_inserts(url: str) -> None:
    """Make every INSERT into audit_events fail inside the database itself."""
    engine = create_engine(url)
    with engine.begin() as conn:
        if url.startswith("sqlite"):
            conn.execute(
                text(
                    "CREATE TRIGGER no_audit BEFORE INSERT ON audit_events "
                    "BEGIN SELECT RAISE(ABORT, 'audit store offline'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION no_audit() RETURNS trigger AS "
                    "$$ BEGIN RAISE EXCEPTION 'audit store offline'; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER no_audit BEFORE INSERT ON audit_events "
                    "FOR EACH ROW EXECUTE FUNCTION no_audit()"
                )
            )
    engine.dispose()


def test_every_change_writes_exactly_one_event(h: Harness) -> None:
    admin = h.as_admin()
    account, creds = h.new_account(admin, "ci", ["read"])
    path = f"{ACCOUNTS}/{account['uuid']}"
    admin.put(path, json={"name": "ci", "scopes": ["write"]})
    admin.post(f"{path}/disable")
    admin.post(f"{path}/enable")
    admin.post(f"{path}/regenerate-secret")
    h.client().post("/service-account/auth", json={**creds, "client_secret": "b" * 64})
    admin.post("/service-account/auth/revoke")
    types = [e["type"] for e in h.events()]
    assert types == [
        "service_account.created",
        "service_account.auth.success",
        "service_account.created",
        "service_account.updated",
        "service_account.disabled",
        "service_account.enabled",
        "service_account.secret_regenerated",
        "service_account.auth.failure",
        "service_account.session.revoked",
    ]


def test_update_event_holds_before_and_after(h: Harness) -> None:
    admin = h.as_admin()
    account, _ = h.new_account(admin, "ci", ["read"])
    admin.put(f"{ACCOUNTS}/{account['uuid']}", json={"name": "ci", "scopes": ["write"]})
    event = admin.get(EVENTS, params={"type": "service_account.updated"}).json()["data"][0]
    spec = {"name": "ci", "description": "", "ip_allowlist": [], "expires_at": None}
    assert event == {
        "id": 4,
        "type": "service_account.updated",
        "occurred_at": "2026-03-25T10:00:00+00:00",
        "actor": {
            "service_account": h.admin_credentials["uuid"],
            "name": "root",
            "ip": "127.0.0.1",
        },
        "target": {"kind": "service_account", "id": account["uuid"], "name": "ci"},
        "outcome": "success",
        "code": None,
        "details": {
            "before": {**spec, "scopes": ["read"]},
            "after": {**spec, "scopes": ["write"]},
        },
        "prev_hash": event["prev_hash"],
        "hash": event_hash(event, h.audit_key),
    }


def test_events_form_an_unbroken_chain(h: Harness) -> None:
    admin = h.as_admin()
    for name in ("a", "b", "c"):
        h.new_account(admin, name, ["read"])
    events = h.events()
    assert events[0]["prev_hash"] == GENESIS
    assert [e["prev_hash"] for e in events[1:]] == [e["hash"] for e in events[:-1]]
    assert verify_chain(events, h.audit_key, (len(events), events[-1]["hash"])) is None


def test_chain_check_names_a_changed_event() -> None:
    from certgov.server.audit import Actor, AuditRecord, event_document

    key = b"k" * 32
    nobody = Actor(None, None, None)
    first = event_document(AuditRecord("x", nobody, None), 1, "t", GENESIS, key)
    second = event_document(AuditRecord("y", nobody, None), 2, "t", first["hash"], key)
    tampered = {**second, "outcome": "failure"}
    assert verify_chain([first, tampered], key) == ChainBreak(
        2, "hash does not match the event's content"
    )
    assert verify_chain([second], key) == ChainBreak(1, "missing (the next event in the log is 2)")
    relinked = {**second, "prev_hash": GENESIS}
    assert verify_chain([first, relinked], key) == ChainBreak(
        2, "prev_hash does not match the previous event's hash"
    )
    assert verify_chain([first], key, (2, second["hash"])) == ChainBreak(
        2, "the chain head names an event that is not the last one"
    )
    assert verify_chain([first, second], b"x" * 32) == ChainBreak(
        1, "hash does not match the event's content"
    )


def verify_audit(h: Harness, db_url: str) -> tuple[int, str]:
    args = ["server", "verify-audit", "--database", db_url, "--audit-key", h.audit_key_file]
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.output


def test_verify_audit_command_passes_an_intact_chain(h: Harness, db_url: str) -> None:
    h.new_account(h.as_admin(), "ci", ["read"])
    result = verify_audit(h, db_url)
    assert result == (0, "audit chain intact: 3 events\n")


def test_verify_audit_command_names_the_first_broken_event(h: Harness, db_url: str) -> None:
    h.new_account(h.as_admin(), "ci", ["read"])
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor_ip = '10.9.9.9' WHERE id = 2"))
    engine.dispose()
    assert verify_audit(h, db_url) == (
        1,
        "error: audit chain broken at event 2: hash does not match the event's content\n",
    )


def test_failed_audit_write_refuses_the_change(h: Harness, db_url: str) -> None:
    admin = h.as_admin()
    break_audit_inserts(db_url)
    response = admin.post(ACCOUNTS, json={"name": "ci", "scopes": ["read"]})
    assert (response.status_code, response.json()) == (503, UNAVAILABLE)
    with h.store.transaction() as tx:
        assert tx.accounts.page(0, 10)[1] == 1


def test_failed_audit_write_refuses_the_login(h: Harness, db_url: str) -> None:
    break_audit_inserts(db_url)
    response = h.client().post("/service-account/auth", json=h.admin_credentials)
    assert (response.status_code, response.json()) == (503, UNAVAILABLE)
    with h.store.transaction() as tx:
        assert tx.accounts.get(h.admin_credentials["uuid"])["last_used_at"] is None  # type: ignore[index]


def test_failed_audit_write_keeps_the_account_enabled(h: Harness, db_url: str) -> None:
    admin = h.as_admin()
    account, _ = h.new_account(admin, "ci", ["read"])
    break_audit_inserts(db_url)
    response = admin.post(f"{ACCOUNTS}/{account['uuid']}/disable")
    assert response.status_code == 503
    assert admin.get(f"{ACCOUNTS}/{account['uuid']}").json()["data"]["is_active"] is True


def test_no_secret_or_token_appears_in_the_log(h: Harness) -> None:
    admin = h.as_admin()
    account, creds = h.new_account(admin, "ci", ["read"])
    token = h.login(creds)
    regenerated = admin.post(f"{ACCOUNTS}/{account['uuid']}/regenerate-secret").json()
    dump = json.dumps(h.events())
    for value in (creds["client_secret"], token, regenerated["credentials"]["client_secret"]):
        assert value not in dump


@pytest.fixture
def history(h: Harness) -> Harness:
    """root logs in at 10:00, creates ci at 10:01, ci fails a login at 10:02, logs in at 10:03."""
    admin = h.as_admin()
    h.clock.advance(minutes=1)
    account, creds = h.new_account(admin, "ci", ["read"])
    h.clock.advance(minutes=1)
    h.client().post("/service-account/auth", json={**creds, "client_secret": "b" * 64})
    h.clock.advance(minutes=1)
    h.login(creds)
    h.ci_uuid = account["uuid"]  # type: ignore[attr-defined]
    h.admin = admin  # type: ignore[attr-defined]
    return h


@pytest.mark.parametrize(
    ("params", "ids"),
    [
        ({}, [5, 4, 3, 2, 1]),
        ({"type": "service_account.created"}, [3, 1]),
        ({"outcome": "failure"}, [4]),
        ({"since": "2026-03-25T10:01:00+00:00", "until": "2026-03-25T10:02:00Z"}, [4, 3]),
        ({"service_account": "CI"}, [5, 4, 3]),
        ({"per_page": 2, "page": 2}, [3, 2]),
    ],
    ids=["all", "type", "outcome", "since-until-inclusive", "actor-or-target", "paged"],
)
def test_filters_select_events_newest_first(
    history: Harness, params: dict[str, str], ids: list[int]
) -> None:
    query = {k: (history.ci_uuid if v == "CI" else v) for k, v in params.items()}  # type: ignore[attr-defined]
    body = history.admin.get(EVENTS, params=query).json()  # type: ignore[attr-defined]
    assert [e["id"] for e in body["data"]] == ids


def test_bad_since_is_a_validation_error(h: Harness) -> None:
    response = h.as_admin().get(EVENTS, params={"since": "yesterday"})
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == ["since"]


def test_a_database_made_before_the_type_index_gets_it_at_the_next_start(
    h: Harness, db_url: str
) -> None:
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP INDEX ix_audit_events_type_id"))
            conn.execute(text("CREATE INDEX ix_audit_events_type ON audit_events (type)"))
        h.store.create_schema()
        h.store.create_schema()  # and a second start keeps it
        indexes = {
            i["name"]: i["column_names"] for i in inspect(engine).get_indexes("audit_events")
        }
    finally:
        engine.dispose()
    assert indexes["ix_audit_events_type_id"] == ["type", "id", "occurred_at"]
