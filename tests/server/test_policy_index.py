"""The enabled policies' index: kept between evaluations, rebuilt when the policy version moves,
which every change moves in its own transaction, so that a change made through one server is
seen by every other server on the same database at its next evaluation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, text

from certgov.rules.index import PolicyIndex
from certgov.server import Settings, create_app, enabled
from certgov.server.store import Tx
from certgov.server.store import schema as tables
from tests.server.conftest import FrozenClock, Harness
from tests.server.test_policies import BODY, POLICIES, REQUEST

VALIDATE = f"{POLICIES}/validate"
ENABLED_BODY = {**BODY, "is_enabled": True}
BLOCKING = {
    "name": "No small keys",
    "is_enabled": True,
    "matching_criteria": {"action": "certificate.generate", "domains": ["API.prod.example.com"]},
    "rules": [
        {"action": "enforce_minimum_key_size", "fail": "hard", "values": {"minimum_bits": 4096}}
    ],
}


def _version(h: Harness) -> int | None:
    with h.store.reading() as tx:
        return tx.policies.version()


def _matched(client: httpx.Client) -> list[str]:
    response = client.post(VALIDATE, json={"request": REQUEST})
    assert response.status_code == 200, response.text
    return [p["name"] for p in response.json()["data"]["matched_policies"]]


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many policies each index build read, in order."""
    counted: list[int] = []
    build = enabled.build_index

    def counting(tx: Tx) -> PolicyIndex:
        index = build(tx)
        counted.append(len(index))
        return index

    monkeypatch.setattr(enabled, "build_index", counting)
    return counted


def test_every_policy_change_moves_the_version_once(h: Harness) -> None:
    admin = h.as_admin()
    seen = [_version(h)]
    policy = admin.post(POLICIES, json=BODY).json()["data"]
    seen.append(_version(h))
    assert admin.post(POLICIES, json=BODY).status_code == 409
    assert admin.put(f"{POLICIES}/1", json=BODY).status_code == 200  # no change
    assert admin.post(f"{POLICIES}/1/disable").status_code == 200  # already disabled
    seen.append(_version(h))
    assert admin.put(f"{POLICIES}/1", json={**BODY, "description": "v2"}).status_code == 200
    seen.append(_version(h))
    admin.post(f"{POLICIES}/{policy['id']}/enable")
    seen.append(_version(h))
    _matched(admin)
    seen.append(_version(h))
    admin.post(f"{POLICIES}/{policy['id']}/disable")
    seen.append(_version(h))
    admin.delete(f"{POLICIES}/{policy['id']}")
    seen.append(_version(h))
    assert seen == [0, 1, 1, 2, 3, 3, 4, 5]


def test_the_index_is_built_once_per_version(hs: Harness, builds: list[int]) -> None:
    admin = hs.as_admin()
    admin.post(POLICIES, json=ENABLED_BODY)
    assert [_matched(admin) for _ in range(3)] == [[BODY["name"]]] * 3
    admin.post(POLICIES, json=BLOCKING)
    assert [_matched(admin) for _ in range(2)] == [[BLOCKING["name"], BODY["name"]]] * 2
    assert builds == [1, 2]


def test_certificate_requests_use_the_same_index(hs: Harness) -> None:
    admin = hs.as_admin()
    assert admin.post("/service/certificates", json=REQUEST).status_code == 201
    admin.post(POLICIES, json=BLOCKING)
    response = admin.post("/service/certificates", json=REQUEST)
    assert (response.status_code, response.json()["error"]["code"]) == (422, "POLICY_VIOLATION")


def test_a_database_without_the_version_row_gets_it_at_start(
    sqlite_url: str, harness_factory: Callable[..., Harness], clock: FrozenClock
) -> None:
    first = harness_factory(sqlite_url)
    first.as_admin().post(POLICIES, json=ENABLED_BODY)
    with first.store.transaction() as tx:  # a database from before the version row
        tx.conn.execute(text("DROP TABLE policy_version"))
    app = create_app(Settings(database_url=sqlite_url, clock=clock, rate_limit=0))
    second = Harness(app, clock, first.admin_credentials)
    try:
        assert _version(second) == 0
        assert _matched(second.as_admin()) == [BODY["name"]]
    finally:
        second.close()


def test_without_the_version_row_every_evaluation_reads_the_policies(
    hs: Harness, builds: list[int]
) -> None:
    admin = hs.as_admin()
    admin.post(POLICIES, json=ENABLED_BODY)
    with hs.store.transaction() as tx:
        tx.conn.execute(delete(tables.policy_version))
    assert _matched(admin) == [BODY["name"]]
    admin.post(POLICIES, json=BLOCKING)  # the bump finds no row: nothing to keep by
    assert _matched(admin) == [BLOCKING["name"], BODY["name"]]
    assert _matched(admin) == [BLOCKING["name"], BODY["name"]]
    assert builds == [1, 2, 2]
    with hs.store.reading() as tx:
        assert tx.conn.execute(select(tables.policy_version)).all() == []


# -- two servers on one database ------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def replicas(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    clock: FrozenClock,
    harness_factory: Callable[..., Harness],
) -> Iterator[tuple[Harness, Harness]]:
    """Two apps on one database (a SQLite file, or a fresh PostgreSQL database) and one key."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    first = harness_factory(url)
    settings: dict[str, Any] = {"audit_key_file": first.audit_key_file}
    app = create_app(Settings(database_url=url, clock=clock, rate_limit=0, **settings))
    second = Harness(app, clock, first.admin_credentials)
    yield first, second
    second.close()


def test_a_change_through_one_server_is_seen_by_the_others_next_validate(
    replicas: tuple[Harness, Harness],
) -> None:
    one, other = replicas
    writer, reader = one.as_admin(), other.as_admin()
    assert _matched(reader) == []

    created = writer.post(POLICIES, json=ENABLED_BODY).json()["data"]
    assert _matched(reader) == [BODY["name"]]

    path = f"{POLICIES}/{created['id']}"
    elsewhere = {"action": "certificate.generate", "domains": ["*.staging.example.com"]}
    writer.put(path, json={**ENABLED_BODY, "matching_criteria": elsewhere})
    assert _matched(reader) == []
    writer.put(path, json=ENABLED_BODY)
    assert _matched(reader) == [BODY["name"]]

    writer.post(f"{path}/disable")
    assert _matched(reader) == []
    writer.post(f"{path}/enable")
    assert _matched(reader) == [BODY["name"]]

    blocking = writer.post(POLICIES, json=BLOCKING).json()["data"]
    assert _matched(reader) == [BLOCKING["name"], BODY["name"]]
    response = reader.post("/service/certificates", json=REQUEST)
    assert (response.status_code, response.json()["error"]["code"]) == (422, "POLICY_VIOLATION")

    writer.delete(f"{POLICIES}/{blocking['id']}")
    assert _matched(reader) == [BODY["name"]]
    assert reader.post("/service/certificates", json=REQUEST).status_code == 201
    # And the other way round.
    reader.delete(path)
    assert _matched(writer) == []
