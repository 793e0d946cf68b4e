"""catalog's features plugged into its core, as the app does at start-up; a NATS server for the
modules that serve catalog in this process."""

from collections.abc import Iterator

import pytest

from datacommune.catalog import features
from tests import servers


@pytest.fixture(autouse=True, scope="session")
def catalog_features() -> None:
    features.install()


@pytest.fixture(scope="module")
def own_nats() -> Iterator[servers.NatsServer]:
    """A server of the module's own: a catalog served here consumes from the platform's
    streams, which other tests publish to on the session's server."""
    with servers.nats_server() as server:
        yield server
