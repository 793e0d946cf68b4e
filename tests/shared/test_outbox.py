"""The outbox relay publishes committed rows once and marks them sent (SQLite and PostgreSQL)."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.catalog.tables import Base, Outbox, ProcessedEvent
from datacommune.shared import events
from datacommune.shared.bus import Bus
from datacommune.shared.db import make_engine, make_sessionmaker
from datacommune.shared.outbox import (
    OutboxRelay,
    announcement_id,
    enqueue,
    enqueue_once,
    first_time,
    prune,
)
from datacommune.shared.settings import DatabaseSettings


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def sessionmaker(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a fresh database holding catalog's outbox and processed-event tables."""
    engine = make_engine(DatabaseSettings(url=database_url))
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def test_rows_are_published_then_marked(
    sessionmaker: async_sessionmaker[AsyncSession], bus: Bus
) -> None:
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


async def test_published_rows_are_pruned_in_batches_and_unsent_ones_kept(
    sessionmaker: async_sessionmaker[AsyncSession], bus: Bus
) -> None:
    relay = OutboxRelay(sessionmaker, Outbox, bus, batch=500, keep_sent=timedelta(0))
    async with sessionmaker.begin() as session:
        for _ in range(1200):
            enqueue(
                session, Outbox, events.FileValidationStarted(source="t", upload_id=uuid.uuid4())
            )
    while await relay.relay_once():
        pass
    async with sessionmaker.begin() as session:
        waiting = events.FileValidationStarted(source="t", upload_id=uuid.uuid4())
        enqueue(session, Outbox, waiting)
    assert (
        await prune(
            sessionmaker, Outbox.published_at, Outbox.id, older_than=timedelta(0), batch=500
        )
        == 1200
    )
    async with sessionmaker() as session:
        left = (await session.scalars(select(Outbox.id))).all()
    assert left == [str(waiting.id)], "an unsent row is never pruned"


async def test_processed_events_are_kept_for_their_retention(
    sessionmaker: async_sessionmaker[AsyncSession], bus: Bus
) -> None:
    old, new = (events.FileValidationStarted(source="t", upload_id=uuid.uuid4()) for _ in "ab")
    async with sessionmaker.begin() as session:
        assert await first_time(session, ProcessedEvent, old)
        assert await first_time(session, ProcessedEvent, new)
        (await session.get(ProcessedEvent, str(old.id))).processed_at -= timedelta(days=40)  # type: ignore[union-attr]
    relay = OutboxRelay(sessionmaker, Outbox, bus, processed=ProcessedEvent)
    await relay.prune_once()
    async with sessionmaker() as session:
        assert (await session.scalars(select(ProcessedEvent.event_id))).all() == [str(new.id)]


async def test_a_re_announcement_is_one_row_however_often_and_however_many_replicas(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    namespace = uuid.uuid4()

    def said(name: str) -> events.OrganizationCreated:
        event = events.OrganizationCreated(
            source="t", organization="roques", name=name, kind="commune", token_hash="x" * 64
        )
        return event.model_copy(update={"id": announcement_id(namespace, "org:roques", event)})

    async def announce(name: str) -> bool:
        async with sessionmaker.begin() as session:
            return await enqueue_once(session, Outbox, said(name))

    # Two replicas starting together, then a third start: one row.
    results = await asyncio.gather(announce("Roques"), announce("Roques"))
    assert sorted(results) == [False, True]
    assert await announce("Roques") is False
    # What it says changed: a new id, a new row.
    assert await announce("Roques-sur-Garonne") is True
    async with sessionmaker() as session:
        assert len((await session.scalars(select(Outbox.id))).all()) == 2
