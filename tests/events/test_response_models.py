"""events' response models take every answer its routes really give and send it byte for byte as
before they had one: the dict the domain builds, keys in its order, none added or dropped; a
release told to anyone with its title and date only.

events is served in this process (tests/inprocess.py), on its own NATS server and a migrated
database; what the routes answer is compared with what the domain builds from that database.
"""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.events import local_events, releases
from datacommune.events.app import create_app
from datacommune.events.settings import Settings
from datacommune.events.tables import LocalEvent, Organization, Release
from datacommune.shared import tokens
from datacommune.shared.db import make_engine, make_sessionmaker
from datacommune.shared.settings import (
    DatabaseSettings,
    HttpSettings,
    NatsSettings,
    StorageSettings,
)
from tests import servers
from tests.inprocess import serving

PUBLIC_URL = "http://events.test"
TOKEN = "dc_jeton-de-roques"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
UID = "conseil@roques.fr"
Sessions = async_sessionmaker[AsyncSession]

# What the routes sent before they had a response model: their ``dict[str, Any]`` return
# annotation was the model, dumped by Pydantic.
AS_BEFORE = TypeAdapter(dict[str, Any])


def sent_as_before(answer: httpx.Response, built: dict[str, Any]) -> None:
    assert answer.status_code < 300, answer.text
    assert answer.content == AS_BEFORE.dump_json(built), answer.text


@pytest.fixture
async def events(
    own_nats: servers.NatsServer, events_url: str, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Sessions]]:
    """events served in process, Roques known to it, and a sessionmaker on its database."""
    settings = Settings(
        http=HttpSettings(public_url=PUBLIC_URL),
        nats=NatsSettings(url=own_nats.url),
        database=DatabaseSettings(url=events_url),
        storage=StorageSettings(root=tmp_path / "files"),
    )
    engine = make_engine(DatabaseSettings(url=events_url))
    sessions = make_sessionmaker(engine)
    async with sessions.begin() as session:
        session.add(Organization(slug="roques", name="Roques", token_hash=tokens.hash_token(TOKEN)))
    try:
        async with serving(create_app(settings), PUBLIC_URL) as client:
            yield client, sessions
    finally:
        await engine.dispose()


async def event_of(sessions: Sessions, event_id: str) -> dict[str, Any]:
    async with sessions() as session:
        return local_events.describe(await local_events.get(session, uuid.UUID(event_id)))


async def release_of(sessions: Sessions, release_id: str) -> dict[str, Any]:
    async with sessions() as session:
        release = await session.get(Release, uuid.UUID(release_id))
        assert release is not None
        return releases.describe(release)


def local(moment: datetime) -> str:
    """A time in Paris, as a person writes it."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


async def test_local_events_and_releases_are_sent_as_built(
    events: tuple[httpx.AsyncClient, Sessions],
) -> None:
    client, sessions = events
    soon = (datetime.now(UTC) + timedelta(days=30)).replace(hour=18, minute=0, second=0)
    base = "/api/v1/local-events"

    bare = await client.post(
        base, json={"title": "Hackathon", "starts_at": local(soon)}, headers=AUTH
    )
    council = await client.post(
        base,
        json={
            "title": "Conseil municipal",
            "kind": "conseil-municipal",
            "starts_at": local(soon + timedelta(days=1)),
            "ends_at": local(soon + timedelta(days=1, hours=2)),
            "location": "Mairie de Roques",
            "description": "Budget",
        },
        headers=AUTH,
    )
    assert (bare.status_code, council.status_code) == (201, 201), bare.text
    for created in (bare, council):
        sent_as_before(created, await event_of(sessions, created.json()["id"]))
        got = await client.get(f"{base}/{created.json()['id']}")
        sent_as_before(got, await event_of(sessions, created.json()["id"]))
    event_id = council.json()["id"]

    at_event = await client.post(
        "/api/v1/releases",
        json={
            "title": "Budget",
            "local_event_id": event_id,
            "offset_minutes": -60,
            "announce": True,
        },
        headers=AUTH,
    )
    at_time = await client.post(
        "/api/v1/releases",
        json={"title": "Subventions", "at": local(soon + timedelta(days=2))},
        headers=AUTH,
    )
    opened = await client.post(
        "/api/v1/releases",
        json={"title": "Délibérations", "at": local(soon + timedelta(days=3)), "announce": True},
        headers=AUTH,
    )
    for created in (at_event, at_time, opened):
        sent_as_before(created, await release_of(sessions, created.json()["id"]))
    # Opened late: as the scheduler leaves it.
    async with sessions.begin() as session:
        await session.execute(
            update(Release)
            .where(Release.id == uuid.UUID(opened.json()["id"]))
            .values(status="opened", opened_at=datetime.now(UTC), delay_seconds=2.5)
        )

    def listed(items: list[Release], full: bool = True) -> dict[str, Any]:
        return {"items": [releases.describe(r, full=full) for r in items]}

    async def lists() -> None:
        mine = await client.get("/api/v1/releases", headers=AUTH)
        announced = await client.get("/api/v1/releases/upcoming", params={"organization": "roques"})
        upcoming = await client.get(base, params={"organization": "roques"})
        async with sessions() as session:
            sent_as_before(
                mine,
                listed(
                    await releases.upcoming(session, organizations=["roques"], announced_only=False)
                ),
            )
            sent_as_before(
                announced,
                listed(
                    await releases.upcoming(session, organizations=["roques"], announced_only=True),
                    full=False,
                ),
            )
            sent_as_before(
                upcoming,
                {
                    "items": [
                        local_events.describe(e)
                        for e in await local_events.upcoming(session, organization="roques")
                    ]
                },
            )
        for release in (at_event, at_time, opened):
            one = await client.get(f"/api/v1/releases/{release.json()['id']}", headers=AUTH)
            sent_as_before(one, await release_of(sessions, release.json()["id"]))

    await lists()
    assert len((await client.get("/api/v1/releases/upcoming")).json()["items"]) >= 1

    # The council cancelled: its release held, with no date.
    cancelled = await client.patch(f"{base}/{event_id}", json={"status": "cancelled"}, headers=AUTH)
    sent_as_before(cancelled, await event_of(sessions, event_id))
    held = await release_of(sessions, at_event.json()["id"])
    assert (held["status"], held["opens_at"]) == ("held", None)
    await lists()


def calendar(first: datetime) -> bytes:
    """A weekly council from ``first`` (Paris time), four times, the third cancelled."""
    day = first.strftime("%Y%m%d")
    third = (first + timedelta(weeks=2)).strftime("%Y%m%d")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Roques//FR",
        "BEGIN:VEVENT",
        f"UID:{UID}",
        "DTSTAMP:20260101T000000Z",
        f"DTSTART;TZID=Europe/Paris:{day}T200000",
        f"DTEND;TZID=Europe/Paris:{day}T220000",
        "RRULE:FREQ=WEEKLY;COUNT=4",
        "SUMMARY:Séance du conseil",
        "CATEGORIES:Conseil municipal",
        "LOCATION:Mairie de Roques",
        "END:VEVENT",
        "BEGIN:VEVENT",
        f"UID:{UID}",
        "DTSTAMP:20260102T000000Z",
        f"RECURRENCE-ID;TZID=Europe/Paris:{third}T200000",
        f"DTSTART;TZID=Europe/Paris:{third}T200000",
        "SUMMARY:Séance du conseil",
        "STATUS:CANCELLED",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines).encode() + b"\r\n"


async def test_an_import_is_sent_as_built(events: tuple[httpx.AsyncClient, Sessions]) -> None:
    client, sessions = events
    data = calendar(datetime.now(UTC) + timedelta(days=10))
    headers = {**AUTH, "Content-Type": "text/calendar"}
    first = await client.post("/api/v1/local-events/import", content=data, headers=headers)
    again = await client.post("/api/v1/local-events/import", content=data, headers=headers)
    async with sessions() as session:
        imported = (await session.scalars(select(LocalEvent).where(LocalEvent.uid == UID))).all()
    items = [local_events.describe(e) for e in sorted(imported, key=lambda e: e.starts_at)]
    assert len(items) == 4
    sent_as_before(
        first, {"created": 4, "updated": 0, "cancelled": 0, "unchanged": 0, "items": items}
    )
    sent_as_before(
        again, {"created": 0, "updated": 0, "cancelled": 0, "unchanged": 4, "items": items}
    )
    assert [i["status"] for i in items].count("cancelled") == 1
