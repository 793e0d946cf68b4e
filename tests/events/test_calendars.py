"""iCalendar in and out: a weekly council across the 2027 clock change imported on both
databases, its moved and cancelled occurrences carrying their releases along, feeds fetched
safely, and the public calendar of coming releases keeping the embargo."""

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.events import problems, releases
from datacommune.events.calendars import export, feeds
from datacommune.events.tables import LocalEvent, Organization, Outbox, Release
from datacommune.shared import tokens
from datacommune.shared.db import make_engine, make_sessionmaker
from datacommune.shared.settings import DatabaseSettings
from tests import servers
from tests.platform import Running

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2027, 3, 1, tzinfo=UTC)
UID = "conseil-hebdo@roques.fr"

VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Europe/Paris
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE"""


def ics(*events: str, head: str = VTIMEZONE) -> bytes:
    body = "\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Roques//FR", head, *events])
    return (body + "\nEND:VCALENDAR\n").replace("\n", "\r\n").encode()


def council(*, uid: str = UID, first: str = "20270304", count: int = 8, exdate: str = "") -> str:
    """A council every Thursday at 20:00 in Paris, from ``first`` (the 2027 series crosses the
    clock change of Sunday 28 March)."""
    lines = [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20270101T000000Z",
        f"DTSTART;TZID=Europe/Paris:{first}T200000",
        f"DTEND;TZID=Europe/Paris:{first}T220000",
        f"RRULE:FREQ=WEEKLY;COUNT={count}",
        "SUMMARY:Séance du conseil",
        "CATEGORIES:Conseil municipal",
        "LOCATION:Mairie de Roques",
        "DESCRIPTION:Ordre du jour : budget.",
    ]
    if exdate:
        lines.append(f"EXDATE;TZID=Europe/Paris:{exdate}T200000")
    return "\n".join([*lines, "END:VEVENT"])


def moved(*, uid: str = UID, day: str = "20270401") -> str:
    """That day's council an hour later (UID + RECURRENCE-ID)."""
    return f"""BEGIN:VEVENT
UID:{uid}
DTSTAMP:20270102T000000Z
RECURRENCE-ID;TZID=Europe/Paris:{day}T200000
DTSTART;TZID=Europe/Paris:{day}T210000
DTEND;TZID=Europe/Paris:{day}T230000
SUMMARY:Séance du conseil
CATEGORIES:Conseil municipal
LOCATION:Mairie de Roques
DESCRIPTION:Ordre du jour : budget.
END:VEVENT"""


def cancelled(*, uid: str = UID, day: str = "20270408") -> str:
    return f"""BEGIN:VEVENT
UID:{uid}
DTSTAMP:20270102T000000Z
RECURRENCE-ID;TZID=Europe/Paris:{day}T200000
DTSTART;TZID=Europe/Paris:{day}T200000
SUMMARY:Séance du conseil
STATUS:CANCELLED
END:VEVENT"""


def paris(day: int, month: int, hour: int) -> datetime:
    return datetime(2027, month, day, hour, tzinfo=PARIS).astimezone(UTC)


@pytest.fixture
async def sessionmaker(events_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A fresh events database at the latest migration, with the organization Roques."""
    engine = make_engine(DatabaseSettings(url=events_url))
    maker = make_sessionmaker(engine)
    async with maker.begin() as session:
        session.add(Organization(slug="roques", name="Roques", token_hash=tokens.hash_token("r")))
    yield maker
    await engine.dispose()


async def run_import(
    maker: async_sessionmaker[AsyncSession], data: bytes, now: datetime = NOW
) -> feeds.Imported:
    parsed = feeds.parse(data, now=now)
    async with maker.begin() as session:
        org = await session.get(Organization, "roques")
        assert org is not None
        return await feeds.import_calendar(session, org, parsed, source="test")


async def occurrences(maker: async_sessionmaker[AsyncSession]) -> dict[datetime, LocalEvent]:
    async with maker() as session:
        rows = (await session.scalars(select(LocalEvent).where(LocalEvent.uid == UID))).all()
    return {r.recurrence_id: r for r in rows if r.recurrence_id is not None}


async def outbox(maker: async_sessionmaker[AsyncSession]) -> list[str]:
    async with maker() as session:
        return list((await session.scalars(select(Outbox.type))).all())


async def test_a_weekly_council_keeps_its_local_hour_across_the_clock_change(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    result = await run_import(sessionmaker, ics(council()))
    assert (result.created, result.updated, result.cancelled, result.unchanged) == (8, 0, 0, 0)
    rows = await occurrences(sessionmaker)
    assert len(rows) == 8
    # 20:00 in Paris is 19:00 UTC in winter (CET) and 18:00 UTC after 28 March (CEST).
    before, after = rows[paris(25, 3, 20)], rows[paris(1, 4, 20)]
    assert before.starts_at == datetime(2027, 3, 25, 19, 0, tzinfo=UTC)
    assert after.starts_at == datetime(2027, 4, 1, 18, 0, tzinfo=UTC)
    assert before.ends_at == datetime(2027, 3, 25, 21, 0, tzinfo=UTC)
    for row in rows.values():
        assert row.starts_at.astimezone(PARIS).hour == 20
        assert (row.timezone, row.status, row.kind) == (
            "Europe/Paris",
            "planned",
            "conseil-municipal",
        )
        assert (row.title, row.location) == ("Séance du conseil", "Mairie de Roques")
    described = result.describe()
    assert described["items"][3]["starts_at_local"] == "2027-03-25T20:00:00+01:00"
    assert described["items"][4]["starts_at_local"] == "2027-04-01T20:00:00+02:00"
    assert await outbox(sessionmaker) == ["local_event.created.v1"] * 8


async def test_moved_and_cancelled_occurrences_carry_their_releases(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await run_import(sessionmaker, ics(council()))
    rows = await occurrences(sessionmaker)
    plans: dict[str, Release] = {}
    async with sessionmaker.begin() as session:
        org = await session.get(Organization, "roques")
        assert org is not None
        for name, day, offset in (("moved", 1, -60), ("cancelled", 8, 0), ("exdate", 15, 0)):
            data = releases.ReleaseIn(
                title=f"Budget {name}",
                local_event_id=rows[paris(day, 4, 20)].id,
                offset_minutes=offset,
            )
            plans[name] = await releases.create(session, org, data, source="test", now=NOW)
    assert plans["moved"].due_at == datetime(2027, 4, 1, 17, 0, tzinfo=UTC)

    # The agenda now moves 1 April by an hour, cancels 8 April and drops 15 April (EXDATE).
    changed = ics(council(exdate="20270415"), moved(), cancelled())
    result = await run_import(sessionmaker, changed)
    assert (result.created, result.updated, result.cancelled, result.unchanged) == (0, 1, 2, 5)
    rows = await occurrences(sessionmaker)
    assert len(rows) == 8, "nothing imported is ever deleted"
    first_april = rows[paris(1, 4, 20)]
    assert first_april.status == "moved"
    assert first_april.starts_at == datetime(2027, 4, 1, 19, 0, tzinfo=UTC)  # 21:00 CEST
    assert first_april.recurrence_id == datetime(2027, 4, 1, 18, 0, tzinfo=UTC)
    assert rows[paris(8, 4, 20)].status == "cancelled"
    assert rows[paris(15, 4, 20)].status == "cancelled"
    assert rows[paris(25, 3, 20)].status == "planned"

    async with sessionmaker() as session:
        again = {k: await session.get(Release, p.id) for k, p in plans.items()}
    assert again["moved"] is not None
    assert again["moved"].status == "scheduled"
    assert again["moved"].due_at == datetime(2027, 4, 1, 18, 0, tzinfo=UTC)  # an hour before
    for name in ("cancelled", "exdate"):
        held = again[name]
        assert held is not None
        assert (held.status, held.due_at) == ("held", None)
    sent = await outbox(sessionmaker)
    assert sent.count("release.held.v1") == 2
    assert sent.count("local_event.updated.v1") == 3

    # The same file again changes nothing, and announces nothing.
    stamps = {k: r.updated_at for k, r in rows.items()}
    result = await run_import(sessionmaker, changed)
    assert (result.created, result.updated, result.cancelled, result.unchanged) == (0, 0, 0, 8)
    assert await outbox(sessionmaker) == sent
    assert {k: r.updated_at for k, r in (await occurrences(sessionmaker)).items()} == stamps

    # The day comes back into the agenda: the occurrence is moved, its release scheduled again.
    result = await run_import(sessionmaker, ics(council(), moved()))
    assert (result.updated, result.cancelled) == (2, 0)
    async with sessionmaker() as session:
        back = await session.get(Release, plans["cancelled"].id)
    assert back is not None
    assert (back.status, back.due_at) == ("scheduled", datetime(2027, 4, 8, 18, 0, tzinfo=UTC))


async def test_one_off_events_in_utc_whole_day_and_floating_time(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    def calendar(fete_start: str) -> bytes:
        return ics(
            f"""BEGIN:VEVENT
UID:fete@roques.fr
DTSTART:{fete_start}
DURATION:PT4H
SUMMARY:Fête du village
END:VEVENT""",
            """BEGIN:VEVENT
UID:hackathon@roques.fr
DTSTART;VALUE=DATE:20270620
SUMMARY:Journée données ouvertes
CATEGORIES:HACKATHON
END:VEVENT""",
            """BEGIN:VEVENT
UID:reunion@roques.fr
DTSTART:20270510T183000
SUMMARY:Réunion publique PLU
END:VEVENT""",
            head="X-WR-TIMEZONE:America/Cayenne",
        )

    result = await run_import(sessionmaker, calendar("20270614T080000Z"))
    assert result.created == 3
    by_uid = {e.uid: e for e in result.events}
    fete, hackathon, reunion = (
        by_uid["fete@roques.fr"],
        by_uid["hackathon@roques.fr"],
        by_uid["reunion@roques.fr"],
    )
    assert fete.recurrence_id is None
    assert (fete.starts_at, fete.ends_at) == (
        datetime(2027, 6, 14, 8, 0, tzinfo=UTC),
        datetime(2027, 6, 14, 12, 0, tzinfo=UTC),
    )
    assert (fete.kind, fete.timezone) == ("fete-ou-marche", "America/Cayenne")
    # A whole day starts at midnight in the calendar's zone (UTC−3 in Guyane).
    assert hackathon.starts_at == datetime(2027, 6, 20, 3, 0, tzinfo=UTC)
    assert hackathon.kind == "hackathon"
    assert reunion.starts_at == datetime(2027, 5, 10, 21, 30, tzinfo=UTC)
    assert reunion.kind == "reunion-publique"

    # A one-off event keeps its identity when it moves, even out of the window.
    result = await run_import(sessionmaker, calendar("20290614T080000Z"))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    async with sessionmaker() as session:
        again = await session.get(LocalEvent, fete.id)
        count = await session.scalar(select(func.count()).select_from(LocalEvent))
    assert again is not None
    assert (again.status, again.starts_at) == ("moved", datetime(2029, 6, 14, 8, 0, tzinfo=UTC))
    assert count == 3


def test_the_window_bounds_an_endless_series() -> None:
    endless = ics(council(count=8).replace("COUNT=8", "INTERVAL=1"))
    parsed = feeds.parse(endless, now=NOW, past=timedelta(days=1), ahead=timedelta(days=30))
    starts = sorted(o.starts_at for o in parsed.occurrences)
    assert starts[0] == datetime(2027, 3, 4, 19, 0, tzinfo=UTC)
    assert starts[-1] == datetime(2027, 3, 25, 19, 0, tzinfo=UTC)
    # An earlier `now` sees the past series start, a later one does not.
    later = feeds.parse(endless, now=datetime(2028, 1, 1, tzinfo=UTC))
    assert min(o.starts_at for o in later.occurrences) >= datetime(2027, 12, 31, tzinfo=UTC)


@pytest.mark.parametrize(
    ("categories", "summary", "kind"),
    [
        ([], "Conseil municipal du 12 mars", "conseil-municipal"),
        ([], "CONSEIL COMMUNAUTAIRE — Sicoval", "conseil-communautaire"),
        (["Hackathon"], "Journée données", "hackathon"),
        ([], "Marché de Noël", "fete-ou-marche"),
        ([], "Fête de la musique", "fete-ou-marche"),
        ([], "Réunion publique : PLUi", "reunion-publique"),
        (["conseil-municipal"], "Séance", "conseil-municipal"),
        ([], "Marche nordique", "autre"),
        ([], "Permanence des élus", "autre"),
    ],
)
def test_kind_from_categories_or_summary(categories: list[str], summary: str, kind: str) -> None:
    assert feeds.kind_of(categories, summary) == kind


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"hello", "Not iCalendar"),
        (b"", "Not iCalendar"),
        (ics("BEGIN:VEVENT\nDTSTART:20270101T100000Z\nEND:VEVENT"), "no UID"),
        (ics("BEGIN:VEVENT\nUID:a\nSUMMARY:x\nEND:VEVENT"), "no DTSTART"),
        (ics("BEGIN:VEVENT\nUID:a\nDTSTART:2027XX\nEND:VEVENT"), "Invalid calendar"),
        (
            ics("BEGIN:VEVENT\nUID:a\nDTSTART:20270301T100000Z\nRRULE:FREQ=NOPE\nEND:VEVENT"),
            "FREQ=NOPE",
        ),
        (
            ics("BEGIN:VEVENT\nUID:a\nDTSTART:20270301T100000Z\nRRULE:FREQ=MINUTELY\nEND:VEVENT"),
            "More than 5000 occurrences",
        ),
    ],
)
def test_a_broken_calendar_is_a_422_problem(data: bytes, says: str) -> None:
    with pytest.raises(problems.InvalidCalendar, match=says) as caught:
        feeds.parse(data, now=NOW)
    assert caught.value.status == 422
    assert "iCalendar" in caught.value.detail


class Feed(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/agenda.ics":
            body = ics(council())
        elif self.path == "/huge.ics":
            body = b"X" * (feeds.MAX_BYTES + 1)
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/agenda.ics")
            self.end_headers()
            return
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/calendar")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def feed_server() -> Iterator[str]:
    with servers.http_server(Feed) as base:
        yield base


async def test_a_feed_is_fetched_within_its_limits(feed_server: str) -> None:
    data = await feeds.fetch(f"{feed_server}/redirect", allow_private=True)
    assert data == ics(council())
    with pytest.raises(problems.CalendarTooLarge):
        await feeds.fetch(f"{feed_server}/huge.ics", allow_private=True)
    with pytest.raises(problems.FeedUnreachable, match="answered 404"):
        await feeds.fetch(f"{feed_server}/missing.ics", allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/agenda.ics",
        "http://localhost/agenda.ics",
        "http://10.1.2.3/agenda.ics",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/agenda.ics",
        "http://[::ffff:127.0.0.1]/agenda.ics",
        "file:///etc/passwd",
        "ftp://example.org/agenda.ics",
        "gopher://127.0.0.1/",
    ],
)
async def test_private_addresses_and_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(problems.FeedRefused):
        await feeds.fetch(url)


def test_the_public_calendar_shows_title_and_date_only() -> None:
    event = LocalEvent(
        id=uuid.uuid4(),
        organization="roques",
        title="Conseil municipal",
        kind="conseil-municipal",
        starts_at=datetime(2027, 4, 1, 18, tzinfo=UTC),
        timezone="Europe/Paris",
        location="Mairie de Roques",
        description="Ordre du jour : budget.",
        status="planned",
    )
    release = Release(
        id=uuid.uuid4(),
        organization="roques",
        title="Budget 2027",
        local_event_id=event.id,
        due_at=datetime(2027, 4, 1, 17, tzinfo=UTC),
        updated_at=datetime(2027, 3, 1, tzinfo=UTC),
        timezone="Europe/Paris",
    )
    for full in (False, True):
        data = export.releases_calendar([release], {event.id: event}, full=full, name="x")
        (entry,) = icalendar.Calendar.from_ical(data).walk("VEVENT")
        assert str(entry["UID"]) == f"{release.id}@datacommune"
        assert str(entry["SUMMARY"]) == "À paraître : Budget 2027"
        assert entry["DTSTART"].dt == datetime(2027, 4, 1, 17, tzinfo=UTC)
        assert b"DTSTART:20270401T170000Z" in data
        assert ("LOCATION" in entry) is full
        assert ("DESCRIPTION" in entry) is full


# Over HTTP, against the running platform.


def upcoming_series(uid: str, weeks: int = 4) -> tuple[bytes, list[datetime]]:
    """A weekly council from next week on (real dates: the routes import around now)."""
    first = (datetime.now(PARIS) + timedelta(days=7)).date()
    starts = [
        datetime.combine(first + timedelta(weeks=i), datetime.min.time(), PARIS).replace(hour=20)
        for i in range(weeks)
    ]
    return ics(council(uid=uid, first=first.strftime("%Y%m%d"), count=weeks)), starts


@pytest.mark.e2e
def test_import_then_subscribe_over_http(embedded: Running) -> None:
    token = embedded.organization("roques-ical")
    api = embedded.url("events") + "/api/v1"
    auth = {"Authorization": f"Bearer {token}"}
    calendar_type = {"Content-Type": "text/calendar"}
    data, starts = upcoming_series("hebdo@roques-ical.fr")

    created = httpx.post(f"{api}/local-events/import", content=data, headers=auth | calendar_type)
    assert created.status_code == 200, created.text
    body = created.json()
    assert {k: body[k] for k in ("created", "updated", "cancelled", "unchanged")} == {
        "created": 4,
        "updated": 0,
        "cancelled": 0,
        "unchanged": 0,
    }
    items = body["items"]
    assert [datetime.fromisoformat(i["starts_at"]) for i in items] == starts
    again = httpx.post(f"{api}/local-events/import", content=data, headers=auth | calendar_type)
    assert again.json()["unchanged"] == 4

    # One announced release, one kept secret.
    def plan(title: str, event: dict[str, Any], announce: bool) -> dict[str, Any]:
        response = httpx.post(
            f"{api}/releases",
            json={"title": title, "local_event_id": event["id"], "announce": announce},
            headers=auth,
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    public = plan("Budget primitif", items[1], announce=True)
    secret = plan("Rapport Confidentiel Z7", items[2], announce=False)

    feed = httpx.get(f"{api}/releases.ics", params={"organization": "roques-ical"})
    assert feed.status_code == 200
    assert feed.headers["content-type"] == "text/calendar; charset=utf-8"
    unfolded = feed.text.replace("\r\n ", "")
    assert "Confidentiel" not in unfolded
    assert secret["id"] not in unfolded
    assert "LOCATION" not in unfolded
    assert "DESCRIPTION" not in unfolded
    (entry,) = icalendar.Calendar.from_ical(feed.content).walk("VEVENT")
    assert str(entry["SUMMARY"]) == "À paraître : Budget primitif"
    assert entry["DTSTART"].dt == datetime.fromisoformat(public["opens_at"])
    assert set(entry) <= {"UID", "DTSTAMP", "LAST-MODIFIED", "DTSTART", "SUMMARY"}
    everyone = httpx.get(f"{api}/releases.ics").text.replace("\r\n ", "")
    assert "Confidentiel" not in everyone

    mine = httpx.get(f"{api}/releases.ics", headers=auth)
    entries = icalendar.Calendar.from_ical(mine.content).walk("VEVENT")
    assert {str(e["SUMMARY"]) for e in entries} == {
        "À paraître : Budget primitif",
        "À paraître : Rapport Confidentiel Z7",
    }
    assert {str(e["LOCATION"]) for e in entries} == {"Mairie de Roques"}

    events = httpx.get(f"{api}/local-events.ics", params={"organization": "roques-ical"})
    assert events.headers["content-type"] == "text/calendar; charset=utf-8"
    assert len(icalendar.Calendar.from_ical(events.content).walk("VEVENT")) == 4

    # The third council is cancelled in the agenda: its (secret) release is held.
    day = starts[2].strftime("%Y%m%d")
    changed = ics(
        council(uid="hebdo@roques-ical.fr", first=starts[0].strftime("%Y%m%d"), count=4),
        cancelled(uid="hebdo@roques-ical.fr", day=day),
    )
    result = httpx.post(f"{api}/local-events/import", content=changed, headers=auth | calendar_type)
    assert result.json()["cancelled"] == 1
    held = httpx.get(f"{api}/releases/{secret['id']}", headers=auth).json()
    assert (held["status"], held["opens_at"]) == ("held", None)


@pytest.mark.e2e
def test_import_refuses_what_it_cannot_read(embedded: Running) -> None:
    token = embedded.organization("roques-ical-errors")
    url = embedded.url("events") + "/api/v1/local-events/import"
    auth = {"Authorization": f"Bearer {token}"}

    def problem(response: httpx.Response, status: int, type_: str) -> None:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["type"] == type_
        assert body["detail"]
        assert body["detail_en"]

    calendar_type = auth | {"Content-Type": "text/calendar"}
    problem(
        httpx.post(url, content=b"pas un agenda", headers=calendar_type),
        422,
        "/problems/invalid-calendar",
    )
    huge = b"X" * (feeds.MAX_BYTES + 1)
    problem(
        httpx.post(url, content=huge, headers=calendar_type), 413, "/problems/calendar-too-large"
    )
    problem(
        httpx.post(url, json={"url": "http://127.0.0.1:1/agenda.ics"}, headers=auth),
        422,
        "/problems/feed-refused",
    )
    problem(
        httpx.post(url, json={"url": "file:///etc/passwd"}, headers=auth),
        422,
        "/problems/feed-refused",
    )
    problem(httpx.post(url, json={"address": "x"}, headers=auth), 422, "/problems/invalid-request")
    problem(
        httpx.post(url, content=b"x", headers=auth | {"Content-Type": "text/plain"}),
        415,
        "/problems/unsupported-media-type",
    )
    problem(
        httpx.post(url, content=ics(council()), headers={"Content-Type": "text/calendar"}),
        401,
        "/problems/unauthorized",
    )
