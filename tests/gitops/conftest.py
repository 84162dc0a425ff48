"""Fixtures of the gitops tests: the GitHub fake on loopback and clients pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from certgov.client.retry import RetryPolicy
from certgov.gitops.github import GitHubClient
from tests.gitops.github_fake import FakeGitHub, serving

REPO = "acme/certs"
# No jitter, so the waits between retries are the caps themselves.
PINNED = RetryPolicy(max_attempts=3, base_delay=1.0, max_elapsed=90.0, jitter=lambda cap: cap)


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    fake.add_repo(REPO)
    with serving(fake):
        yield fake


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_client(github: FakeGitHub, sleeps: list[float]) -> Iterator[Callable[..., GitHubClient]]:
    """Builds clients on the fake; each is closed at the end of the test."""
    made: list[GitHubClient] = []

    def build(**kwargs: Any) -> GitHubClient:
        kwargs.setdefault("api_url", github.url)
        kwargs.setdefault("retry", PINNED)
        kwargs.setdefault("sleep", sleeps.append)
        kwargs.setdefault("timeout", 5.0)
        client = GitHubClient(kwargs.pop("token", github.token), **kwargs)
        made.append(client)
        return client

    yield build
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., GitHubClient]) -> GitHubClient:
    return make_client()
