"""read_live_state: whole collections through the list endpoints, normalised like declarations."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from certgov.client import ClmClient, read_live_state
from certgov.errors import ApiError
from certgov.state import Resource, State
from tests.client.clm_fake import NOW, FakeApi

MakeClient = Callable[..., ClmClient]
ACCOUNT = "00000000-0000-4000-8000-000000000001"


def seed(fake: FakeApi) -> None:
    fake.add_policy(
        "Baseline",
        is_enabled=True,
        description="prod",
        matching_criteria={
            "action": "certificate.renew",
            "domains": ["prod.example.com", "*.Prod.Example.COM"],
        },
        rules=[
            {
                "action": "enforce_minimum_key_size",
                "fail": "hard",
                "values": {"minimum_bits": "3072"},
            },
            {"action": "disable_wildcard", "fail": "soft"},
        ],
    )
    fake.add_account(
        "ci",
        scopes=["write", "read"],
        ip_allowlist=["203.0.113.0/24", "10.0.0.1/32"],
        expires_at="2027-06-30T00:00:00Z",
        is_active=False,
        last_used_at="2026-03-20T08:00:00+00:00",
    )


def test_reads_whole_expected_state(fake: FakeApi, make_client: MakeClient) -> None:
    seed(fake)
    state = read_live_state(make_client())
    assert state == State.build(
        [
            Resource(
                kind="Policy",
                name="Baseline",
                spec={
                    "name": "Baseline",
                    "description": "prod",
                    "enabled": True,
                    "matching_criteria": {
                        "action": "certificate.renew",
                        "domains": ["*.prod.example.com", "prod.example.com"],
                    },
                    "rules": [
                        {"action": "disable_wildcard", "fail": "soft"},
                        {
                            "action": "enforce_minimum_key_size",
                            "fail": "hard",
                            "values": {"minimum_bits": "3072"},
                        },
                    ],
                },
                meta={
                    "id": 1,
                    "etag": '"1-1"',
                    "client_id": None,
                    "secret_created_at": None,
                    "last_used_at": None,
                    "created_at": NOW,
                    "updated_at": NOW,
                },
            ),
            Resource(
                kind="ServiceAccount",
                name="ci",
                spec={
                    "name": "ci",
                    "description": "",
                    "scopes": ["read", "write"],
                    "ip_allowlist": ["10.0.0.1", "203.0.113.0/24"],
                    "expires_at": "2027-06-30T00:00:00+00:00",
                    "enabled": False,
                },
                meta={
                    "id": ACCOUNT,
                    "etag": f'"{ACCOUNT}-1"',
                    "client_id": "svc_00000000000040008000000000000001",
                    "secret_created_at": NOW,
                    "last_used_at": "2026-03-20T08:00:00+00:00",
                    "created_at": NOW,
                    "updated_at": NOW,
                },
            ),
        ]
    )


def test_reads_only_the_list_endpoints(fake: FakeApi, make_client: MakeClient) -> None:
    seed(fake)
    read_live_state(make_client())
    assert sorted(fake.paths()) == [
        "GET /api/v1/service/policies?page=1&per_page=100",
        "GET /api/v1/service/service-accounts?page=1&per_page=100",
        "POST /api/v1/service-account/auth",
    ]


def test_reads_only_the_kinds_asked_for(fake: FakeApi, make_client: MakeClient) -> None:
    seed(fake)
    state = read_live_state(make_client(), kinds=("Policy",))
    assert ([r.address for r in state], fake.paths()[1:]) == (
        ["Policy/Baseline"],
        ["GET /api/v1/service/policies?page=1&per_page=100"],
    )


def test_no_kinds_is_an_empty_state(fake: FakeApi, make_client: MakeClient) -> None:
    assert (read_live_state(make_client(), kinds=()), fake.paths()) == (State.build([]), [])


def test_an_unknown_kind_is_refused(make_client: MakeClient) -> None:
    with pytest.raises(ValueError, match=r"^unknown kind\(s\): Certificate$"):
        read_live_state(make_client(), kinds=("Certificate",))


def test_two_live_objects_with_one_name_are_a_broken_server(
    fake: FakeApi, make_client: MakeClient
) -> None:
    fake.add_policy("a")
    fake.add_policy("a")
    with pytest.raises(ApiError) as info:
        read_live_state(make_client(), kinds=("Policy",))
    assert info.value.message == (
        "the server at http://clm.test lists two objects with one name: duplicate Policy/a"
    )


def test_a_server_without_service_accounts_fails_the_read(
    fake: FakeApi, make_client: MakeClient
) -> None:
    fake.script("GET", "/service/service-accounts", httpx.Response(404, json={"detail": "x"}))
    with pytest.raises(ApiError, match="does not offer service account management"):
        read_live_state(make_client())
