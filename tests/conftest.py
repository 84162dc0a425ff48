"""Suite-wide fixtures: the golden-file switch, a throwaway PostgreSQL database and a throwaway
CA for the HTTPS fakes."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.loopback import ThrowawayCA, throwaway_ca

# What `--slow` raises: example counts of the property, fuzzing and stateful tests.
SLOW_COUNTS = {
    "CERTGOV_FUZZ_EXAMPLES": "200",
    "CERTGOV_STATEFUL_EXAMPLES": "100",
    "CERTGOV_ROUNDTRIP_EXAMPLES": "200",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the expected outputs of golden tests instead of comparing them",
    )
    parser.addoption(
        "--slow",
        action="store_true",
        default=False,
        help="run the property, fuzzing and stateful tests with many more examples",
    )


def pytest_configure(config: pytest.Config) -> None:
    # Before collection, so that test modules read the larger counts when they are imported.
    if config.getoption("--slow"):
        for name, value in SLOW_COUNTS.items():
            os.environ.setdefault(name, value)


# What a CI runner sets that changes what certgov prints (the file-store warning, the environment
# to plan): the suite runs as on a workstation, wherever it runs; a test that wants a runner's
# environment sets it itself.
RUNNER_VARIABLES = ("CI", "GITHUB_ACTIONS", "CERTGOV_ENV")


@pytest.fixture(autouse=True)
def _not_on_a_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in RUNNER_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def _postgres_base_url() -> str | None:
    return os.environ.get("CERTGOV_TEST_POSTGRES") or None


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, uniquely named PostgreSQL database for one test, dropped afterwards.

    Skips when CERTGOV_TEST_POSTGRES is unset or the server does not answer, unless
    CERTGOV_REQUIRE_POSTGRES=1 (set by .ci/run where PostgreSQL runs), which turns that into a
    failure.
    """
    base = _postgres_base_url()
    required = os.environ.get("CERTGOV_REQUIRE_POSTGRES") == "1"
    if base is None:
        if required:
            pytest.fail("CERTGOV_REQUIRE_POSTGRES=1 but CERTGOV_TEST_POSTGRES is unset")
        pytest.skip("CERTGOV_TEST_POSTGRES is not set")
    psycopg = pytest.importorskip("psycopg")
    sqlalchemy = pytest.importorskip("sqlalchemy")
    url = sqlalchemy.engine.make_url(base)
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"certgov_test_{uuid.uuid4().hex[:16]}"
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        if required:
            pytest.fail(f"PostgreSQL is required here but did not answer: {exc}")
        pytest.skip(f"PostgreSQL not available: {exc}")
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def tls_ca(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayCA:
    """A CA made for this run and a certificate of 127.0.0.1 it signed, for HTTPS fakes."""
    return throwaway_ca(tmp_path_factory.mktemp("tls"))
