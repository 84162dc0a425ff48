"""Attacks on sessions and logins (issue 21, points 1 and 4), each reproduced as it was found."""

from __future__ import annotations

import gc
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import Harness

ACCOUNTS = "/service/service-accounts"
VERIFY = "/service-account/auth/verify"
POLICY = {
    "name": "p",
    "matching_criteria": {"action": "certificate.generate", "domains": ["example.com"]},
    "rules": [],
}


def envelope(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"success": False, "error": {"code": code, "message": message, "details": []}}


EXPIRED = envelope(401, "SERVICE_ACCOUNT_EXPIRED", "the service account has expired")
INVALID_SESSION = envelope(
    401, "INVALID_SESSION", "the session token is missing, unknown or revoked"
)


# -- point 1: a session never comes back to life -------------------------------------------------


@pytest.mark.parametrize("lifted", [None, "2026-04-30T00:00:00+00:00"], ids=["null", "later"])
def test_lifting_an_expiry_revives_no_session(h: Harness, lifted: str | None) -> None:
    admin = h.as_admin()
    account, creds = h.new_account(admin, "deploy", ["write"])
    session = h.client(token=h.login(creds))
    path = f"{ACCOUNTS}/{account['uuid']}"
    admin.put(
        path,
        json={"name": "deploy", "scopes": ["write"], "expires_at": "2026-03-25T11:00:00+00:00"},
    )
    h.clock.advance(hours=2)
    expired = session.get(VERIFY)
    lifting = admin.put(path, json={"name": "deploy", "scopes": ["write"], "expires_at": lifted})
    verify = session.get(VERIFY)
    create = session.post("/service/policies", json=POLICY)
    assert lifting.status_code == 200
    assert [(r.status_code, r.json()) for r in (expired, verify, create)] == [
        EXPIRED,
        INVALID_SESSION,
        INVALID_SESSION,
    ]
    assert h.client(token=h.login(creds)).get(VERIFY).status_code == 200


# -- point 4: a wrong secret costs the same whether the uuid exists or not ----------------------

PAIRS = 1500


def mann_whitney_z(a: list[float], b: list[float]) -> float:
    """The normal approximation of the Mann-Whitney U statistic (ties get their mean rank): near
    0 when neither sample tends to be larger; |z| > 4 about once in 16,000 runs when both come
    from one distribution. Rank-based, so a stall of the machine weighs as one rank."""
    ranked = sorted([(x, 0) for x in a] + [(x, 1) for x in b])
    ranks = [0.0] * len(ranked)
    i = 0
    while i < len(ranked):
        j = i
        while j + 1 < len(ranked) and ranked[j + 1][0] == ranked[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        i = j + 1
    n1, n2 = len(a), len(b)
    u = (
        sum(r for r, (_, group) in zip(ranks, ranked, strict=True) if group == 0)
        - n1 * (n1 + 1) / 2
    )
    return (u - n1 * n2 / 2) / (n1 * n2 * (n1 + n2 + 1) / 12) ** 0.5


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


@pytest.fixture
def in_memory_url() -> Iterator[str]:
    """A SQLite file in RAM (tmpfs) where the machine has one: the disk's fsync stalls are
    milliseconds of noise, the work compared here tens of microseconds."""
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as folder:
        yield f"sqlite:///{folder}/server.db"


@pytest.mark.slow  # 20 to 45 s: 3,100 logins
def test_a_wrong_secret_costs_as_much_for_a_known_uuid_as_for_an_unknown_one(
    in_memory_url: str, harness_factory: Callable[..., Harness]
) -> None:
    """The work of each login, as the process's CPU time: on a machine shared with other work,
    wall time mostly measures waiting for a core, and the work is what leaked (the known uuid's
    extra failure row and its decoded account). Wall time is printed beside it."""
    h = harness_factory(in_memory_url)
    _, creds = h.new_account(h.as_admin(), "target", ["read"])
    bodies = {"known": {**creds, "client_secret": "w" * 64}}
    bodies["unknown"] = {**bodies["known"], "uuid": str(uuid.uuid4())}
    client = h.client("192.0.2.50")
    cpu: dict[str, list[float]] = {"known": [], "unknown": []}
    wall: dict[str, list[float]] = {"known": [], "unknown": []}

    def login(name: str) -> None:
        started, used = time.perf_counter(), time.process_time()
        response = client.post("/service-account/auth", json=bodies[name])
        cpu[name].append((time.process_time() - used) * 1e6)
        wall[name].append((time.perf_counter() - started) * 1e6)
        assert response.status_code == 401

    for _ in range(50):  # warm the caches, the pages and the pool alike
        login("known")
        login("unknown")
    cpu, wall = {"known": [], "unknown": []}, {"known": [], "unknown": []}
    order = random.Random(21)
    gc.disable()  # a collection lands in one sample or the other: collect between pairs instead
    try:
        for i in range(PAIRS):  # interleaved in random order: load that comes and goes hits both
            for name in order.sample(["known", "unknown"], 2):
                login(name)
            if i % 20 == 0:
                gc.collect()
    finally:
        gc.enable()
    z = mann_whitney_z(cpu["known"], cpu["unknown"])
    shift = median(cpu["known"]) - median(cpu["unknown"])
    z_wall = mann_whitney_z(wall["known"], wall["unknown"])
    shift_wall = median(wall["known"]) - median(wall["unknown"])
    print(
        f"\nknown minus unknown uuid, {PAIRS} pairs: CPU median {shift:+.0f} us (z = {z:+.2f}), "
        f"wall median {shift_wall:+.0f} us (z = {z_wall:+.2f}), median login "
        f"{median(wall['unknown']):.0f} us"
    )
    assert abs(z) < 4, (z, shift)
