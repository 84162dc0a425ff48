"""Fixtures of the client tests: the fake API, a recording sleep, and a client factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from certgov.client import ClmClient
from tests.client.clm_fake import BASE, CREDS, PINNED, FakeApi, Sleeps


@pytest.fixture
def fake() -> FakeApi:
    return FakeApi()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_client(fake: FakeApi, sleeps: Sleeps) -> Iterator[Callable[..., ClmClient]]:
    """Builds clients on the fake; each is closed at the end of the test."""
    made: list[ClmClient] = []

    def build(**kwargs: Any) -> ClmClient:
        kwargs.setdefault("transport", httpx.MockTransport(fake))
        kwargs.setdefault("retry", PINNED)
        kwargs.setdefault("sleep", sleeps.sleep)
        kwargs.setdefault("clock", sleeps.clock)
        client = ClmClient(BASE, kwargs.pop("credentials", CREDS), **kwargs)
        made.append(client)
        return client

    yield build
    for client in made:
        client.close()
