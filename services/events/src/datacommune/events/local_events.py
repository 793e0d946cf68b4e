"""Local events: create, read, change and remove them, each change announced on the bus.

A person gives a local wall-clock time (« 20 h, Roques ») and its zone; the instant is stored in
UTC beside the zone. A time the clocks skip (02:30 on 2026-03-29 in Paris) or pass twice
(02:30 on 2026-10-25) is refused unless it carries its UTC offset, rather than guessed.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.events.tables import LocalEvent, Organization, Outbox
from datacommune.shared import events
from datacommune.shared.fields import Instant, Line, Text
from datacommune.shared.outbox import enqueue
from datacommune.shared.problems import Forbidden, NotFound, Problem

Kind = Literal[
    "conseil-municipal",
    "conseil-communautaire",
    "hackathon",
    "fete-ou-marche",
    "reunion-publique",
    "salon",
    "autre",
]
Status = Literal["planned", "moved", "cancelled"]


class InvalidTime(Problem):
    type = "/problems/invalid-time"
    title = "Heure invalide"
    title_en = "Invalid time"
    status = 422


class LocalEventIn(BaseModel):
    """A local event as a person describes it."""

    title: Line = Field(min_length=1, max_length=300, examples=["Conseil municipal de décembre"])
    kind: Kind = "conseil-municipal"
    starts_at: Instant = Field(examples=["2026-12-15T20:00:00"])
    timezone: Line = Field(default="Europe/Paris", max_length=64, examples=["Europe/Paris"])
    location: Line | None = Field(default=None, max_length=300, examples=["Mairie de Roques"])
    description: Text = Field(default="", max_length=10_000)
    ends_at: Instant | None = Field(default=None, examples=["2026-12-15T22:00:00"])


class LocalEventPatch(BaseModel):
    """Fields to change; the others stay."""

    title: Line | None = Field(default=None, min_length=1, max_length=300)
    kind: Kind | None = None
    starts_at: Instant | None = None
    timezone: Line | None = Field(default=None, max_length=64)
    location: Line | None = Field(default=None, max_length=300)
    description: Text | None = Field(default=None, max_length=10_000)
    ends_at: Instant | None = None
    status: Literal["planned", "cancelled"] | None = Field(
        default=None, description="« cancelled » annule : ses publications attendent"
    )


def check_zone(zone_name: str) -> str:
    """A zone name of the zone database; a 422 problem otherwise."""
    try:
        ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a name that is a folder of the zone database ("Europe"), or too long.
        raise InvalidTime(
            f"Fuseau horaire inconnu : « {zone_name} » (ex. « Europe/Paris »).",
            f"Unknown time zone: {zone_name!r} (e.g. 'Europe/Paris').",
        ) from None
    return zone_name


def to_utc(local: datetime, zone_name: str) -> datetime:
    """The UTC instant of a wall-clock time in ``zone_name``; refuses skipped or doubled times."""
    zone = ZoneInfo(check_zone(zone_name))
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    first = local.replace(tzinfo=zone, fold=0)
    second = local.replace(tzinfo=zone, fold=1)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != local:
        raise InvalidTime(
            f"{local:%d/%m/%Y %H:%M} n'existe pas à {zone_name} (changement d'heure). "
            "Choisissez une autre heure.",
            f"{local:%Y-%m-%d %H:%M} does not exist in {zone_name} (clock change). "
            "Choose another time.",
        )
    if first.utcoffset() != second.utcoffset():
        raise InvalidTime(
            f"{local:%d/%m/%Y %H:%M} a lieu deux fois à {zone_name} (passage à l'heure d'hiver). "
            "Précisez le décalage, par exemple 2026-10-25T02:30:00+02:00.",
            f"{local:%Y-%m-%d %H:%M} happens twice in {zone_name} (clocks go back). "
            "Give the offset, e.g. 2026-10-25T02:30:00+02:00.",
        )
    return first.astimezone(UTC)


def _data(item: LocalEvent) -> events.LocalEventData:
    return events.LocalEventData(
        local_event_id=item.id,
        organization=item.organization,
        title=item.title,
        kind=item.kind,
        starts_at=item.starts_at,
        timezone=item.timezone,
        location=item.location,
        ends_at=item.ends_at,
        status=item.status,
    )


def describe(item: LocalEvent) -> dict[str, Any]:
    """The public view: the instant in UTC and the same instant on the local clock."""
    starts = item.starts_at
    return {
        "id": str(item.id),
        "organization": item.organization,
        "title": item.title,
        "kind": item.kind,
        "starts_at": starts.isoformat(),
        "starts_at_local": starts.astimezone(ZoneInfo(item.timezone)).isoformat(),
        "timezone": item.timezone,
        "location": item.location,
        "description": item.description,
        "ends_at": item.ends_at.isoformat() if item.ends_at else None,
        "status": item.status,
    }


async def create(
    session: AsyncSession, org: Organization, data: LocalEventIn, *, source: str
) -> LocalEvent:
    """Record a local event and announce it."""
    item = LocalEvent(
        id=uuid.uuid4(),
        organization=org.slug,
        title=data.title,
        kind=data.kind,
        starts_at=to_utc(data.starts_at, data.timezone),
        timezone=data.timezone,
        location=data.location,
        description=data.description,
        ends_at=to_utc(data.ends_at, data.timezone) if data.ends_at else None,
        status="planned",
    )
    session.add(item)
    enqueue(session, Outbox, events.LocalEventCreated(source=source, local_event=_data(item)))
    await session.flush()
    return item


async def get(session: AsyncSession, event_id: uuid.UUID) -> LocalEvent:
    """One local event; a 404 problem if unknown."""
    item = await session.get(LocalEvent, event_id)
    if item is None:
        raise NotFound("Aucun événement ne porte cet identifiant.", "No event has this id.")
    return item


def check_owner(item: LocalEvent, org: Organization) -> None:
    if item.organization != org.slug:
        raise Forbidden(
            "Cet événement appartient à une autre organisation.",
            "This event belongs to another organization.",
        )


async def update(
    session: AsyncSession,
    org: Organization,
    item: LocalEvent,
    patch: LocalEventPatch,
    *,
    source: str,
) -> LocalEvent:
    """Change a local event of ``org`` and announce the change."""
    check_owner(item, org)
    changes = patch.model_dump(exclude_unset=True)
    zone = changes.get("timezone") or item.timezone
    if "starts_at" in changes or "timezone" in changes:
        local = changes.get("starts_at") or item.starts_at.astimezone(ZoneInfo(item.timezone))
        if "starts_at" not in changes:
            local = local.replace(tzinfo=None)
        starts_at = to_utc(local, zone)
        if starts_at != item.starts_at and item.status == "planned":
            item.status = "moved"
        item.starts_at = starts_at
        item.timezone = zone
    if changes.get("ends_at"):
        item.ends_at = to_utc(changes["ends_at"], zone)
    if changes.get("status") == "cancelled":
        item.status = "cancelled"
    elif changes.get("status") == "planned" and item.status == "cancelled":
        item.status = "moved"
    for name in ("title", "kind", "location", "description"):
        if name in changes and changes[name] is not None:
            setattr(item, name, changes[name])
    enqueue(session, Outbox, events.LocalEventUpdated(source=source, local_event=_data(item)))
    await session.flush()
    return item


async def delete(
    session: AsyncSession, org: Organization, item: LocalEvent, *, source: str
) -> None:
    """Remove a local event of ``org`` and announce it."""
    check_owner(item, org)
    await session.delete(item)
    enqueue(
        session,
        Outbox,
        events.LocalEventDeleted(source=source, local_event_id=item.id, organization=org.slug),
    )


async def upcoming(
    session: AsyncSession, *, organization: str | None, past_days: int = 0
) -> list[LocalEvent]:
    """Events from ``past_days`` ago on, soonest first."""
    query = select(LocalEvent).where(
        LocalEvent.starts_at >= datetime.now(UTC) - timedelta(days=past_days)
    )
    if organization:
        query = query.where(LocalEvent.organization == organization)
    return list((await session.scalars(query.order_by(LocalEvent.starts_at))).all())


def announce(session: AsyncSession, item: LocalEvent, *, source: str, created: bool) -> None:
    """Enqueue ``local_event.created`` (or ``.updated``) for ``item``, as create and update do;
    for changes made elsewhere, such as an iCalendar import."""
    event: events.Event = (
        events.LocalEventCreated(source=source, local_event=_data(item))
        if created
        else events.LocalEventUpdated(source=source, local_event=_data(item))
    )
    enqueue(session, Outbox, event)
