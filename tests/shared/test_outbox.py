"""The outbox relay publishes committed rows once and marks them sent (SQLite and PostgreSQL)."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from datacommune.catalog.tables import Base, Outbox
from datacommune.shared import events
from datacommune.shared.bus import Bus
from datacommune.shared.db import make_engine, make_sessionmaker
from datacommune.shared.outbox import OutboxRelay, enqueue
from datacommune.shared.settings import DatabaseSettings, NatsSettings
from tests.servers import NatsServer


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def bus(nats_server: NatsServer) -> AsyncIterator[Bus]:
    bus = Bus(NatsSettings(url=nats_server.url))
    await bus.connect(name="test")
    yield bus
    await bus.close()


async def test_rows_are_published_then_marked(database_url: str, bus: Bus) -> None:
    engine = make_engine(DatabaseSettings(url=database_url))
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sessionmaker = make_sessionmaker(engine)
    sent = [events.FileValidationStarted(source="test", upload_id=uuid.uuid4()) for _ in range(3)]
    async with sessionmaker.begin() as session:
        for event in sent:
            enqueue(session, Outbox, event)
    relay = OutboxRelay(sessionmaker, Outbox, bus)
    assert bus.js is not None
    before = (await bus.js.stream_info("FILES")).state.messages
    assert await relay.relay_once() == 3
    assert await relay.relay_once() == 0
    after = (await bus.js.stream_info("FILES")).state.messages
    assert after - before == 3
    async with sessionmaker() as session:
        unsent = await session.scalars(select(Outbox).where(Outbox.published_at.is_(None)))
        assert unsent.all() == []
    await engine.dispose()
