"""The lockout race (issue 21, point 3): bursts of wrong logins and one right one across two
server processes on one PostgreSQL database. The right login must never succeed once the
threshold of failures has committed before it."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from certgov.server.auditkey import keyed_store
from certgov.server.bootstrap import bootstrap_admin
from certgov.server.settings import utc_now
from certgov.server.store import Store
from tests.server.processes import free_port, running

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROUNDS = 8
WRONG = 40
THRESHOLD = 5  # the server's default lockout threshold


def login(api: str, body: dict[str, str]) -> int:
    return httpx.post(f"{api}/service-account/auth", json=body, timeout=30).status_code


def outcomes(store: Store, uuid: str) -> list[str]:
    """The account's login outcomes in the order they committed (the audit chain's order)."""
    with store.reading() as tx:
        return [
            e["code"] or "SUCCESS"
            for e in tx.audit.in_order()
            if e["type"].startswith("service_account.auth")
            and (e["target"] or {}).get("id") == uuid
        ]


def test_no_right_login_succeeds_after_the_threshold_of_failures(
    postgres_url: str, tmp_path: Path
) -> None:
    key = tmp_path / "audit.key"
    store = keyed_store(postgres_url, key)
    admin = bootstrap_admin(store, "root", utc_now())
    ports = [free_port(), free_port()]
    args = ["--database", postgres_url, "--audit-key", str(key), "--rate-limit", "0"]
    rng = random.Random(3)
    seen: list[list[str]] = []
    try:
        with (
            running(["--port", str(ports[0]), *args], ports[0]) as one,
            running(["--port", str(ports[1]), *args], ports[1]) as two,
        ):
            apis = [one.api, two.api]
            token = httpx.post(f"{one.api}/service-account/auth", json=admin, timeout=30).json()
            headers = {"Authorization": f"Bearer {token['session']['token']}"}
            for n in range(ROUNDS):
                created = httpx.post(
                    f"{one.api}/service/service-accounts",
                    json={"name": f"target-{n}", "scopes": ["read"]},
                    headers=headers,
                    timeout=30,
                ).json()
                right = {"uuid": created["data"]["uuid"], **created["credentials"]}
                wrong = {**right, "client_secret": "x" * 64}
                burst: list[dict[str, Any]] = [wrong] * WRONG
                burst.insert(rng.randrange(WRONG + 1), right)
                start = threading.Barrier(len(burst))

                def send(i: int, body: dict[str, str], start: threading.Barrier = start) -> int:
                    start.wait()  # all 41 leave together, half to each server
                    return login(apis[i % 2], body)

                with ThreadPoolExecutor(max_workers=len(burst)) as pool:
                    list(pool.map(send, range(len(burst)), burst))
                seen.append(outcomes(store, right["uuid"]))
    finally:
        store.close()
    # Where the right login landed in each round: the failures committed before it.
    late = [
        (n, round_.index("SUCCESS"))
        for n, round_ in enumerate(seen)
        if "SUCCESS" in round_ and round_.index("SUCCESS") >= THRESHOLD
    ]
    assert late == []
    for round_ in seen:  # each round's 41 logins are all there: 40 refused, 1 let in or locked out
        assert sorted(set(round_)) in (
            ["INVALID_CREDENTIALS", "SUCCESS"],
            ["INVALID_CREDENTIALS", "TOO_MANY_REQUESTS"],
        )
        assert len(round_) == WRONG + 1
