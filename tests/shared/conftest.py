"""A bus connected to the session's JetStream server."""

from collections.abc import AsyncIterator

import pytest

from datacommune.shared.bus import Bus
from datacommune.shared.settings import NatsSettings
from tests.servers import NatsServer


@pytest.fixture
async def bus(nats_server: NatsServer) -> AsyncIterator[Bus]:
    bus = Bus(NatsSettings(url=nats_server.url))
    await bus.connect(name="test")
    yield bus
    await bus.close()
