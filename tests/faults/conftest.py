"""Fixtures for the fault tests: the reference server in a thread over a fresh SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import LiveServer, start_server


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    yield from start_server(f"sqlite:///{tmp_path / 'server.db'}", tmp_path)
