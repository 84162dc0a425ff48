"""Paged reads: page 1 first, the rest concurrently and bounded, items in order, few requests."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
import pytest

from certgov.client import ClmClient
from certgov.errors import InvalidRequestError
from tests.client.clm_fake import FakeApi, error

MakeClient = Callable[..., ClmClient]


def add_policies(fake: FakeApi, count: int) -> list[str]:
    names = [f"p{i:04d}" for i in range(count)]
    for name in names:
        fake.add_policy(name)
    return names


def test_reads_three_pages_page_one_first(fake: FakeApi, make_client: MakeClient) -> None:
    names = add_policies(fake, 250)
    client = make_client()
    items = client.list_policies()
    pages = fake.paths()[1:]
    assert (
        [i["name"] for i in items],
        pages[0],
        sorted(pages[1:]),
        client.request_count,
    ) == (
        names,
        "GET /api/v1/service/policies?page=1&per_page=100",
        [
            "GET /api/v1/service/policies?page=2&per_page=100",
            "GET /api/v1/service/policies?page=3&per_page=100",
        ],
        4,
    )


def test_a_single_page_needs_one_request(fake: FakeApi, make_client: MakeClient) -> None:
    add_policies(fake, 100)
    client = make_client()
    client.list_policies()
    assert client.request_count == 2  # login + page 1


def test_an_empty_collection_is_an_empty_list(fake: FakeApi, make_client: MakeClient) -> None:
    assert make_client().list_service_accounts() == []


def test_list_items_carry_their_etag(fake: FakeApi, make_client: MakeClient) -> None:
    fake.add_policy("a")
    assert [i["etag"] for i in make_client().list_policies()] == ['"1-1"']


def test_filters_become_query_parameters(fake: FakeApi, make_client: MakeClient) -> None:
    make_client().list_policies(enabled=False)
    assert fake.paths()[1] == "GET /api/v1/service/policies?enabled=false&page=1&per_page=100"


def test_page_requests_in_flight_never_exceed_parallelism(
    fake: FakeApi, make_client: MakeClient
) -> None:
    add_policies(fake, 1000)  # page 1, then 9 pages in three full waves of three
    barrier = threading.Barrier(3, timeout=5)
    lock = threading.Lock()
    in_flight = [0, 0]  # now, most

    def gated(request: httpx.Request) -> httpx.Response:
        with lock:
            in_flight[0] += 1
            in_flight[1] = max(in_flight[1], in_flight[0])
        barrier.wait()  # raises BrokenBarrierError unless three pages are in flight together
        with lock:
            in_flight[0] -= 1
        return fake.serve(request)

    fake.script("GET", "/service/policies", fake.serve, *[gated] * 9)
    items = make_client(parallelism=3).list_policies()
    assert (len(items), in_flight[1]) == (1000, 3)


def test_a_failing_page_raises_its_error(fake: FakeApi, make_client: MakeClient) -> None:
    add_policies(fake, 250)
    refusal = error(422, "VALIDATION_ERROR", "bad page", [{"field": "page", "message": "too big"}])
    fake.script("GET", "/service/policies", fake.serve, refusal, refusal)
    with pytest.raises(InvalidRequestError) as info:
        make_client(parallelism=1).list_policies()
    assert info.value.message == "reading policies failed: bad page: page: too big"


@pytest.mark.parametrize(
    "body",
    [
        {"success": True, "data": []},
        {"success": True, "data": [], "meta": {"total_pages": "3"}},
        {"success": True, "data": {}, "meta": {"total_pages": 1}},
    ],
    ids=["no-meta", "pages-not-a-number", "data-not-a-list"],
)
def test_a_malformed_page_is_a_bad_answer(
    fake: FakeApi, make_client: MakeClient, body: dict[str, object]
) -> None:
    fake.script("GET", "/service/policies", httpx.Response(200, json=body))
    with pytest.raises(Exception, match=r"^reading policies: the server at http://clm\.test sent"):
        make_client().list_policies()


def test_audit_events_are_read_with_their_filters(fake: FakeApi, make_client: MakeClient) -> None:
    fake.events = [{"id": 2, "type": "policy.created"}, {"id": 1, "type": "policy.updated"}]
    events = make_client().audit_events(type="policy.created", policy_id=7, outcome=None)
    assert (events, fake.paths()[1]) == (
        fake.events,
        "GET /api/v1/service/audit-events?type=policy.created&policy_id=7&page=1&per_page=100",
    )
