"""Calendars events serves: coming releases and local events as iCalendar (RFC 5545), to
subscribe to from any calendar application."""

import re
import uuid
from collections.abc import Sequence

import icalendar

from datacommune.events.tables import LocalEvent, Release

PRODID = "-//datacommune//events//FR"
MEDIA_TYPE = "text/calendar; charset=utf-8"


# Control characters, which RFC 5545 forbids in text; a lone CR would end a content line.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _plain(text: str) -> str:
    """``text`` as a calendar may carry it: line breaks as LF (escaped by icalendar), other
    control characters as spaces. The API refuses them already; imported calendars and rows
    written before it did may still hold some."""
    return _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))


def _calendar(name: str) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", _CONTROL.sub(" ", name.replace("\n", " ")))
    return calendar


def releases_calendar(
    items: Sequence[Release], events: dict[uuid.UUID, LocalEvent], *, full: bool, name: str
) -> bytes:
    """Coming releases as iCalendar; ``full=False`` is the public announcement: title and date
    only, nothing of the event, files or datasets."""
    calendar = _calendar(name)
    for release in items:
        if release.due_at is None:
            continue
        entry = icalendar.Event()
        entry.add("uid", f"{release.id}@datacommune")
        entry.add("dtstamp", release.updated_at)
        entry.add("last-modified", release.updated_at)
        entry.add("dtstart", release.due_at)
        entry.add("summary", _plain(f"À paraître : {release.title}"))
        event = events.get(release.local_event_id) if release.local_event_id else None
        if full and event is not None:
            if event.location:
                entry.add("location", _plain(event.location))
            description = f"{event.title}\n\n{event.description}".strip()
            entry.add("description", _plain(description))
        calendar.add_component(entry)
    return bytes(calendar.to_ical())


def local_events_calendar(items: Sequence[LocalEvent], *, name: str) -> bytes:
    """Local events as iCalendar, cancelled ones marked so (STATUS:CANCELLED)."""
    calendar = _calendar(name)
    for item in items:
        entry = icalendar.Event()
        entry.add("uid", f"{item.id}@datacommune")
        entry.add("dtstamp", item.updated_at)
        entry.add("last-modified", item.updated_at)
        entry.add("dtstart", item.starts_at)
        if item.ends_at:
            entry.add("dtend", item.ends_at)
        entry.add("summary", _plain(item.title))
        entry.add("categories", [item.kind])
        entry.add("status", "CANCELLED" if item.status == "cancelled" else "CONFIRMED")
        if item.location:
            entry.add("location", _plain(item.location))
        if item.description:
            entry.add("description", _plain(item.description))
        calendar.add_component(entry)
    return bytes(calendar.to_ical())
