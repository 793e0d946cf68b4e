"""iCalendar (RFC 5545) in and out: import an organization's agenda as local events, and serve
local events and coming releases as calendars people subscribe to.

An import expands each recurring series (RRULE, RDATE, EXDATE, one occurrence changed by its
UID and RECURRENCE-ID) over a window, and keeps one local event per occurrence, keyed by the
organization, the UID and the occurrence's original start in UTC (its RECURRENCE-ID; none for a
one-off event). Importing the same file again changes nothing. An occurrence whose start changed
is « moved » and its releases move with it; one that left its series (a new EXDATE) or is
STATUS:CANCELLED is « cancelled » and its releases are held. Nothing imported is ever deleted.

Times keep their instant: TZID (with or without its VTIMEZONE), UTC, or floating (read in the
calendar's X-WR-TIMEZONE, else Europe/Paris, RFC 5545 style across clock changes). A whole-day
event starts at midnight there.
"""

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.events import local_events, releases
from datacommune.events.problems import (
    CalendarTooLarge,
    FeedRefused,
    FeedUnreachable,
    InvalidCalendar,
)
from datacommune.events.tables import LocalEvent, Organization
from datacommune.shared import outbound
from datacommune.shared.problems import Problem

MAX_BYTES = 2 * 1024 * 1024
# Beyond this, a series is more likely a mistake (FREQ=MINUTELY) than an agenda.
MAX_OCCURRENCES = 5_000
DEFAULT_ZONE = "Europe/Paris"
FEED_TIMEOUT = 10.0


def too_large(limit: int = MAX_BYTES) -> CalendarTooLarge:
    """The 413 problem for a calendar over ``limit`` bytes."""
    return CalendarTooLarge(
        f"Le calendrier dépasse {limit // (1024 * 1024)} Mio ({limit} octets). "
        "Exportez une période plus courte.",
        f"The calendar exceeds {limit} bytes. Export a shorter period.",
        limit_bytes=limit,
    )


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a calendar's event, its times in UTC."""

    uid: str
    # The original start of an occurrence of a series; None for a one-off event.
    recurrence_id: datetime | None
    title: str
    kind: str
    starts_at: datetime
    ends_at: datetime | None
    timezone: str
    location: str | None
    description: str
    cancelled: bool
    # False: outside the window (a one-off event, or an occurrence moved far): it updates the
    # local event it already is, and creates none.
    in_window: bool = True


@dataclass(frozen=True)
class Parsed:
    """A calendar read and expanded over ``window``."""

    occurrences: list[Occurrence]
    # UIDs of the recurring series: their occurrences missing in the window are cancelled.
    series: frozenset[str]
    window: tuple[datetime, datetime]
    # The instant the window was drawn around: the import judges "past" by the same clock.
    now: datetime


_KINDS = [
    ("conseil-municipal", re.compile(r"\bconseils? municipa(l|ux)\b")),
    ("conseil-communautaire", re.compile(r"\bconseils? communautaires?\b")),
    ("hackathon", re.compile(r"\bhackathons?\b")),
    # « marche » without its accent is a walk, not a market.
    ("fete-ou-marche", re.compile(r"\b(marchés?|fêtes?|fetes?)\b")),
    ("reunion-publique", re.compile(r"\br[ée]unions? publiques?\b")),
    ("salon", re.compile(r"\bsalons?\b")),
]


def kind_of(categories: Sequence[str], summary: str) -> str:
    """The kind of local event its CATEGORIES, then its SUMMARY, make obvious; else « autre »."""
    for text in (*categories, summary):
        words = " ".join(text.casefold().replace("-", " ").replace("_", " ").split())
        for kind, pattern in _KINDS:
            if pattern.search(words):
                return kind
    return "autre"


def _text(component: Any, name: str) -> str:
    value = component.get(name)
    return str(value).strip() if value is not None else ""


def _categories(component: Any) -> list[str]:
    raw = component.get("CATEGORIES")
    items = raw if isinstance(raw, list) else [raw] if raw is not None else []
    return [str(c) for item in items for c in getattr(item, "cats", [item])]


def _instant(value: date | datetime, zone: str) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return releases.resolve(value, zone)
        return value.astimezone(UTC)
    return releases.resolve(datetime.combine(value, time()), zone)


def _zone_of(value: date | datetime, default: str) -> str:
    tz = value.tzinfo if isinstance(value, datetime) else None
    if isinstance(tz, ZoneInfo) and tz.key not in ("UTC", "Etc/UTC", "GMT", "Etc/GMT"):
        return tz.key
    return default


def _default_zone(calendar: Any, zone: str) -> str:
    name = _text(calendar, "X-WR-TIMEZONE")
    if name:
        try:
            return local_events.check_zone(name)
        except Problem:
            pass
    return zone


def _invalid(detail: str, detail_en: str) -> InvalidCalendar:
    return InvalidCalendar(
        f"{detail} Vérifiez que le fichier est un export iCalendar (.ics) de votre agenda.",
        f"{detail_en} Check that the file is an iCalendar (.ics) export of your agenda.",
    )


def _occurrence(
    component: Any, *, recurring: bool, zone: str, window: tuple[datetime, datetime]
) -> Occurrence:
    uid = _text(component, "UID")
    start_value = component["DTSTART"].dt
    starts_at = _instant(start_value, zone)
    end = component.get("DTEND")
    ends_at: datetime | None = None
    if end is not None:
        ends_at = _instant(end.dt, zone)
    elif component.get("DURATION") is not None:
        ends_at = starts_at + component["DURATION"].dt
    if ends_at is not None and ends_at <= starts_at:
        ends_at = None
    recurrence_id = None
    if recurring:
        rid = component.get("RECURRENCE-ID")
        recurrence_id = _instant(rid.dt, zone) if rid is not None else starts_at
    summary = _text(component, "SUMMARY")
    location = _text(component, "LOCATION")
    last = ends_at or starts_at
    return Occurrence(
        uid=uid,
        recurrence_id=recurrence_id,
        title=(summary or "Événement sans titre")[:300],
        kind=kind_of(_categories(component), summary),
        starts_at=starts_at,
        ends_at=ends_at,
        timezone=_zone_of(start_value, zone),
        location=location[:300] or None,
        description=_text(component, "DESCRIPTION")[:10_000],
        cancelled=_text(component, "STATUS").upper() == "CANCELLED",
        in_window=last >= window[0] and starts_at <= window[1],
    )


def parse(
    data: bytes,
    *,
    now: datetime | None = None,
    past: timedelta = timedelta(days=1),
    ahead: timedelta = timedelta(days=400),
    zone: str = DEFAULT_ZONE,
    limit: int = MAX_OCCURRENCES,
) -> Parsed:
    """Read an iCalendar file and expand its series from ``now - past`` to ``now + ahead``.

    Raises:
        InvalidCalendar: not iCalendar, an event without UID or DTSTART, a broken RRULE, more
            than ``limit`` occurrences.
    """
    now = now or datetime.now(UTC)
    window = (now - past, now + ahead)
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except (ValueError, KeyError, IndexError) as exc:
        raise _invalid(
            f"Ce n'est pas un calendrier iCalendar ({exc}).", f"Not iCalendar ({exc})."
        ) from None
    if not isinstance(calendar, icalendar.Calendar):
        raise _invalid("Il manque BEGIN:VCALENDAR.", "BEGIN:VCALENDAR is missing.")
    zone = _default_zone(calendar, zone)
    components = list(calendar.walk("VEVENT"))
    series: set[str] = set()
    for component in components:
        uid = _text(component, "UID")
        if not uid or len(uid) > 300:
            raise _invalid(
                "Un événement n'a pas d'UID (ou un UID de plus de 300 caractères).",
                "An event has no UID (or one over 300 characters).",
            )
        if "DTSTART" not in component:
            raise _invalid(
                f"L'événement « {uid} » n'a pas de DTSTART.", f"Event {uid!r} has no DTSTART."
            )
        if any(name in component for name in ("RRULE", "RDATE", "RECURRENCE-ID")):
            series.add(uid)
    found: dict[tuple[str, datetime | None], Occurrence] = {}
    try:
        # The series, expanded in the window; the library yields them soonest first.
        for component in recurring_ical_events.of(calendar).after(window[0]):
            if _instant(component["DTSTART"].dt, zone) > window[1]:
                break
            if _text(component, "UID") not in series:
                continue
            item = _occurrence(component, recurring=True, zone=zone, window=window)
            found[(item.uid, item.recurrence_id)] = item
            if len(found) > limit:
                raise _invalid(
                    f"Plus de {limit} occurrences en {ahead.days} jours : une règle de "
                    "répétition est sans doute fausse.",
                    f"More than {limit} occurrences in {ahead.days} days: a recurrence rule is "
                    "probably wrong.",
                )
        # One-off events, and occurrences changed by RECURRENCE-ID, wherever they now are.
        for component in components:
            uid = _text(component, "UID")
            if uid in series and "RECURRENCE-ID" not in component:
                continue
            item = _occurrence(component, recurring=uid in series, zone=zone, window=window)
            found.setdefault((item.uid, item.recurrence_id), item)
    except InvalidCalendar:
        raise
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        # icalendar's and recurring_ical_events' InvalidCalendar are ValueErrors.
        raise _invalid(f"Calendrier incorrect : {exc}.", f"Invalid calendar: {exc}.") from None
    if len(found) > limit:
        raise _invalid(
            f"Plus de {limit} événements dans ce calendrier.",
            f"More than {limit} events in this calendar.",
        )
    return Parsed(
        occurrences=list(found.values()), series=frozenset(series), window=window, now=now
    )


@dataclass
class Imported:
    """What an import did."""

    created: int = 0
    updated: int = 0
    cancelled: int = 0
    unchanged: int = 0
    events: list[LocalEvent] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        """The answer to an import: the counts, then the local events, soonest first."""
        return {
            "created": self.created,
            "updated": self.updated,
            "cancelled": self.cancelled,
            "unchanged": self.unchanged,
            "items": [
                local_events.describe(e) for e in sorted(self.events, key=lambda e: e.starts_at)
            ],
        }


def _apply(item: LocalEvent, occurrence: Occurrence) -> tuple[bool, bool]:
    """Copy an occurrence onto its local event; (anything changed, start or status changed)."""
    changed = False
    for name in ("title", "kind", "ends_at", "timezone", "location", "description"):
        value = getattr(occurrence, name)
        if getattr(item, name) != value:
            setattr(item, name, value)
            changed = True
    timing = False
    if item.starts_at != occurrence.starts_at:
        item.starts_at = occurrence.starts_at
        timing = True
    if occurrence.cancelled:
        status = "cancelled"
    elif item.status == "cancelled" or timing:
        # Back in the calendar, or at another time: as local_events.update does.
        status = "moved"
    else:
        status = item.status
    if status != item.status:
        item.status = status
        timing = True
    return changed or timing, timing


async def _existing(
    session: AsyncSession, org: Organization, uids: Iterable[str]
) -> list[LocalEvent]:
    rows: list[LocalEvent] = []
    wanted = sorted(set(uids))
    for start in range(0, len(wanted), 500):
        rows += (
            await session.scalars(
                select(LocalEvent).where(
                    LocalEvent.organization == org.slug,
                    LocalEvent.uid.in_(wanted[start : start + 500]),
                )
            )
        ).all()
    return rows


async def import_calendar(
    session: AsyncSession, org: Organization, parsed: Parsed, *, source: str
) -> Imported:
    """Upsert ``org``'s local events from a parsed calendar; releases follow what moved."""
    result = Imported()
    # One import at a time per organization (PostgreSQL; SQLite writers are serial anyway), so
    # two imports of the same file cannot both create an occurrence.
    await session.execute(
        select(Organization.slug).where(Organization.slug == org.slug).with_for_update()
    )
    uids = {o.uid for o in parsed.occurrences} | set(parsed.series)
    known = {(e.uid, e.recurrence_id): e for e in await _existing(session, org, uids)}
    seen: set[uuid.UUID] = set()
    for occurrence in parsed.occurrences:
        item = known.get((occurrence.uid, occurrence.recurrence_id))
        if item is None:
            if not occurrence.in_window:
                continue
            item = LocalEvent(
                id=uuid.uuid4(),
                organization=org.slug,
                uid=occurrence.uid,
                recurrence_id=occurrence.recurrence_id,
                title=occurrence.title,
                kind=occurrence.kind,
                starts_at=occurrence.starts_at,
                ends_at=occurrence.ends_at,
                timezone=occurrence.timezone,
                location=occurrence.location,
                description=occurrence.description,
                status="cancelled" if occurrence.cancelled else "planned",
            )
            session.add(item)
            local_events.announce(session, item, source=source, created=True)
            result.created += 1
        else:
            was_cancelled = item.status == "cancelled"
            changed, timing = _apply(item, occurrence)
            if not changed:
                result.unchanged += 1
            else:
                if item.status == "cancelled" and not was_cancelled:
                    result.cancelled += 1
                else:
                    result.updated += 1
                local_events.announce(session, item, source=source, created=False)
                if timing:
                    await releases.follow_event(session, item, source=source, now=parsed.now)
        seen.add(item.id)
        result.events.append(item)
    # Occurrences that left their series (a new EXDATE, a shorter RRULE) in the window.
    start, end = parsed.window
    for item in known.values():
        original = item.recurrence_id or item.starts_at
        if item.id in seen or item.uid not in parsed.series or not start <= original <= end:
            continue
        result.events.append(item)
        if item.status == "cancelled":
            result.unchanged += 1
            continue
        item.status = "cancelled"
        local_events.announce(session, item, source=source, created=False)
        await releases.follow_event(session, item, source=source, now=parsed.now)
        result.cancelled += 1
    await session.flush()
    return result


async def fetch(
    url: str, *, allow_private: bool = False, limit: int = MAX_BYTES, within: float = FEED_TIMEOUT
) -> bytes:
    """The bytes of a calendar feed at ``url`` (http or https, public addresses only unless
    ``allow_private``), at most ``limit`` bytes within ``within`` seconds."""
    try:
        return await outbound.get(
            url,
            allow_private=allow_private,
            limit=limit,
            within=within,
            headers={"Accept": "text/calendar, */*;q=0.5", "User-Agent": "datacommune-events"},
        )
    except outbound.Refused as exc:
        raise FeedRefused(exc.fr, exc.en) from None
    except outbound.Unreachable as exc:
        extra = {"upstream_status": exc.status} if exc.status else {}
        raise FeedUnreachable(f"Calendrier : {exc.fr}", f"Calendar: {exc.en}", **extra) from None
    except outbound.TooLarge as exc:
        raise too_large(exc.limit) from None
