"""Look-alike names (issue 21, point 6): names that read the same as another, or as nothing, were
accepted as distinct accounts and policies. Contract §1: names are NFC, hold no control,
bidirectional-control, format or other default-ignorable character, neither begin nor end with
white space, and two names equal after NFKC case folding are the same name (409)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.server.conftest import Harness

ACCOUNTS = "/service/service-accounts"
POLICIES = "/service/policies"
LOOK_ALIKES = {
    "rt-deploy\u200b": "must not hold the format or default-ignorable character U+200B",
    "rt-deploy\ufeff": "must not hold the format or default-ignorable character U+FEFF",
    "rt-deploy\u00ad": "must not hold the format or default-ignorable character U+00AD",
    "rt-deploy\U000e0041": "must not hold the format or default-ignorable character U+E0041",
    "rt-\u2060deploy": "must not hold the format or default-ignorable character U+2060",
    "rt-deploy\ufe0f": "must not hold the format or default-ignorable character U+FE0F",
    "rt-deploy ": "must not begin or end with white space",
    "\u3000rt-deploy": "must not begin or end with white space",
    " ": "must not begin or end with white space",
    "\u3164": "must not hold the format or default-ignorable character U+3164",
    "rt-de\u0301ploy": "must be in Unicode normalisation form NFC",
}
SAME_AFTER_FOLDING = [
    "RT-Deploy",
    "\uff32\uff34-\uff24\uff25\uff30\uff2c\uff2f\uff39",
    "\uff52\uff54\uff0d\uff44\uff45\uff50\uff4c\uff4f\uff59",
]


def account(name: str) -> dict[str, Any]:
    return {"name": name, "scopes": ["read"]}


def policy(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "matching_criteria": {"action": "certificate.generate", "domains": ["example.com"]},
        "rules": [],
    }


KINDS = {
    "account": (ACCOUNTS, account, "service account"),
    "policy": (POLICIES, policy, "policy"),
}


def refused(message: str) -> tuple[int, dict[str, Any]]:
    error = {
        "code": "VALIDATION_ERROR",
        "message": "the request is invalid",
        "details": [{"field": "name", "message": message}],
    }
    return 422, {"success": False, "error": error}


def conflict(kind: str, name: str) -> tuple[int, dict[str, Any]]:
    error = {
        "code": "CONFLICT",
        "message": f"a {kind} named {name!r} already exists",
        "details": [],
    }
    return 409, {"success": False, "error": error}


def answers(responses: list[httpx.Response]) -> list[tuple[int, Any]]:
    return [
        (r.status_code, r.json() if r.status_code >= 400 else r.json()["data"]["name"])
        for r in responses
    ]


def create_and_rename(
    h: Harness, kind: str, names: list[str]
) -> tuple[list[tuple[int, Any]], list[tuple[int, Any]], Callable[[str], httpx.Response]]:
    """With `rt-deploy` and `other` in place: the answers to creating each name, to renaming
    `other` to each, and a way to rename `other` again."""
    path, body, _ = KINDS[kind]
    admin = h.as_admin()
    admin.post(path, json=body("rt-deploy"))
    other = admin.post(path, json=body("other")).json()["data"]
    other_path = f"{path}/{other.get('uuid', other.get('id'))}"

    def rename(name: str) -> httpx.Response:
        return admin.put(other_path, json=body(name))

    created = [admin.post(path, json=body(name)) for name in names]
    return answers(created), answers([rename(name) for name in names]), rename


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_look_alike_names_are_refused_on_create_and_put(h: Harness, kind: str) -> None:
    created, renamed, _ = create_and_rename(h, kind, list(LOOK_ALIKES))
    # A policy's blank name was refused before white space was: it keeps its message.
    messages = {**LOOK_ALIKES, " ": "must not be empty"} if kind == "policy" else LOOK_ALIKES
    expected = [refused(message) for message in messages.values()]
    assert (created, renamed) == (expected, expected)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_names_equal_after_nfkc_case_folding_conflict(h: Harness, kind: str) -> None:
    created, renamed, rename = create_and_rename(h, kind, SAME_AFTER_FOLDING)
    expected = [conflict(KINDS[kind][2], name) for name in SAME_AFTER_FOLDING]
    assert (created, renamed) == (expected, expected)
    # Its own name in another case is a rename, not a clash.
    assert answers([rename("OTHER")]) == [(200, "OTHER")]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_concurrent_look_alike_creates_leave_one_name(
    db_url: str, harness_factory: Callable[..., Harness], kind: str
) -> None:
    # The database's unique index on the folded name decides, not a check before the insert.
    h = harness_factory(db_url)
    path, body, _ = KINDS[kind]
    token = h.login(h.admin_credentials)
    names = ["rt-deploy", "RT-deploy", "rt-DEPLOY", "Rt-Deploy", "\uff32\uff34-deploy", "rt-Deploy"]
    statuses: list[int] = []
    barrier = threading.Barrier(len(names))

    def create(name: str) -> None:
        client = h.client(token=token)
        barrier.wait()
        statuses.append(client.post(path, json=body(name)).status_code)

    threads = [threading.Thread(target=create, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * (len(names) - 1)
