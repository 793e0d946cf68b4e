"""Release plans: their instants across clock changes, events that move or are cancelled, and
one opening per release however many schedulers race for it."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.events import local_events, releases
from datacommune.events.tables import Organization, Outbox, Release
from datacommune.shared import tokens
from datacommune.shared.db import make_engine, make_sessionmaker
from datacommune.shared.outbox import utcnow
from datacommune.shared.settings import DatabaseSettings

PARIS = "Europe/Paris"


def test_a_skipped_local_time_means_the_offset_before_the_change() -> None:
    """02:30 on 2026-03-29 does not exist in Paris: RFC 5545 reads it as 01:30 UTC."""
    instant = releases.resolve(datetime(2026, 3, 29, 2, 30), PARIS)
    assert instant == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert instant.astimezone(local_events.ZoneInfo(PARIS)).strftime("%H:%M") == "03:30"


def test_a_doubled_local_time_means_its_first_occurrence() -> None:
    """02:30 on 2026-10-25 happens twice in Paris: the first, summer time, 00:30 UTC."""
    assert releases.resolve(datetime(2026, 10, 25, 2, 30), PARIS) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )
    second = datetime.fromisoformat("2026-10-25T02:30:00+01:00")
    assert releases.resolve(second, PARIS) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


# The clock's reading for the tests whose dates are fixed on the calendar.
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
async def sessions(events_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(DatabaseSettings(url=events_url))
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker.begin() as session:
        session.add(Organization(slug="roques", name="Roques", token_hash=tokens.hash_token("r")))
    yield sessionmaker
    await engine.dispose()


async def organization(sessionmaker: async_sessionmaker[AsyncSession]) -> Organization:
    async with sessionmaker() as session:
        org = await session.get(Organization, "roques")
        assert org is not None
        return org


async def test_releases_follow_their_event(sessions: async_sessionmaker[AsyncSession]) -> None:
    org = await organization(sessions)
    async with sessions.begin() as session:
        council = await local_events.create(
            session,
            org,
            local_events.LocalEventIn(title="Conseil", starts_at=datetime(2026, 12, 15, 20, 0)),
            source="test",
        )
        release = await releases.create(
            session,
            org,
            releases.ReleaseIn(title="Budget", local_event_id=council.id, offset_minutes=-60),
            source="test",
            now=NOW,
        )
        assert release.due_at == datetime(2026, 12, 15, 18, 0, tzinfo=UTC)  # 19:00 in Paris
        council = await local_events.update(
            session,
            org,
            council,
            local_events.LocalEventPatch(starts_at=datetime(2026, 12, 16, 18, 30)),
            source="test",
        )
        await releases.follow_event(session, council, source="test", now=NOW)
        assert council.status == "moved"
        assert release.due_at == datetime(2026, 12, 16, 16, 30, tzinfo=UTC)
        council = await local_events.update(
            session, org, council, local_events.LocalEventPatch(status="cancelled"), source="t"
        )
        await releases.follow_event(session, council, source="test", now=NOW)
        assert release.status == "held"
        assert release.due_at is None
        held = await session.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.type == "release.held.v1")
        )
        assert held == 1
        council = await local_events.update(
            session, org, council, local_events.LocalEventPatch(status="planned"), source="t"
        )
        await releases.follow_event(session, council, source="test", now=NOW)
        assert release.status == "scheduled"
        assert release.due_at == datetime(2026, 12, 16, 16, 30, tzinfo=UTC)


async def test_never_early_and_once_however_many_schedulers(
    sessions: async_sessionmaker[AsyncSession], events_url: str
) -> None:
    org = await organization(sessions)
    now = utcnow()
    async with sessions.begin() as session:
        for n in range(60):
            # All just past, and well within the minute a past time is accepted, however slowly
            # the sixty are created (one second apart, the last ones failed on a busy machine).
            await releases.create(
                session,
                org,
                releases.ReleaseIn(
                    title=f"R{n}", at=now - timedelta(milliseconds=100 * n), timezone=PARIS
                ),
                source="test",
            )
        later = await releases.create(
            session,
            org,
            releases.ReleaseIn(title="Plus tard", at=now + timedelta(minutes=5)),
            source="test",
        )
    # Four schedulers, each with its own engine (as separate processes would), race.
    engines = [make_engine(DatabaseSettings(url=events_url)) for _ in range(4)]

    async def scheduler(engine: object) -> int:
        total = 0
        for _ in range(5):
            async with make_sessionmaker(engine).begin() as session:  # type: ignore[arg-type]
                total += await releases.open_due(session, source="test", now=now)
        return total

    opened = await asyncio.gather(*(scheduler(e) for e in engines))
    for engine in engines:
        await engine.dispose()
    assert sum(opened) == 60
    async with sessions() as session:
        events = (
            await session.scalars(select(Outbox).where(Outbox.type == "release.opened.v1"))
        ).all()
        assert len(events) == 60
        assert len({e.id for e in events}) == 60
        waiting = await session.get(Release, later.id)
        assert waiting is not None
        assert waiting.status == "scheduled"
        statuses = (await session.scalars(select(Release.status))).all()
        assert sorted(set(statuses)) == ["opened", "scheduled"]
        assert uuid.UUID(str(events[0].id))


async def test_a_past_time_is_never_a_reason_to_publish_at_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    org = await organization(sessions)
    async with sessions.begin() as session:
        with pytest.raises(local_events.InvalidTime, match="in the past"):
            await releases.create(
                session,
                org,
                releases.ReleaseIn(title="Trop tard", at=datetime(2025, 12, 15, 20, 0)),
                source="test",
                now=NOW,
            )
        council = await local_events.create(
            session,
            org,
            local_events.LocalEventIn(title="Conseil", starts_at=datetime(2026, 12, 15, 20, 0)),
            source="test",
        )
        release = await releases.create(
            session,
            org,
            releases.ReleaseIn(title="Budget", local_event_id=council.id),
            source="test",
            now=NOW,
        )
        # A typo in the year moves the council into the past: the release waits, told.
        council = await local_events.update(
            session,
            org,
            council,
            local_events.LocalEventPatch(starts_at=datetime(2025, 12, 15, 20, 0)),
            source="test",
        )
        await releases.follow_event(session, council, source="test", now=NOW)
        assert release.status == "held"
        assert release.due_at is None
        held = (await session.scalars(select(Outbox).where(Outbox.type == "release.held.v1"))).all()
        assert "date passée" in held[-1].payload
        assert await releases.open_due(session, source="test", now=NOW) == 0
