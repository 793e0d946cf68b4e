"""Release plans: a bundle of dataset versions that opens at one moment, exactly once.

A plan opens at its local event's start plus an offset (« 1 hour before the council »), or at a
fixed time. Its instant is kept in ``due_at`` (UTC) and recomputed whenever its event moves; a
cancelled or removed event holds it (``due_at`` empty) and tells the organization.

Opening is a conditional update — ``scheduled`` and due becomes ``opened`` — committed with its
``release.opened.v1`` event (outbox): however many schedulers run, whatever dies when, one
transaction wins and the event id is derived from the release, so catalog sees one opening.

Local times the clocks skip or pass twice follow RFC 5545 (§3.3.5), as calendar applications
do: 02:30 on 2026-03-29 in Paris (skipped) means the instant 02:30 would have been before the
change, 01:30 UTC (03:30 on the clocks); 02:30 on 2026-10-25 (twice) means its first occurrence,
00:30 UTC (summer time). The answer shows the instant on the local clock so no one is surprised.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.events import local_events
from datacommune.events.local_events import InvalidTime
from datacommune.events.tables import (
    LocalEvent,
    Organization,
    Outbox,
    Release,
    ReleaseContent,
)
from datacommune.shared import events, metrics, territories, tracing
from datacommune.shared.fields import Instant, Line
from datacommune.shared.outbox import enqueue, utcnow
from datacommune.shared.problems import Forbidden, NotFound

# A release whose time is further in the past than this, when planned or when its event moves,
# is refused or held rather than opened at once (a typo in a year must not publish now).
PAST_GRACE = timedelta(minutes=1)

# Release event ids derive from the release: a second scheduler opening the same release
# would publish the same id, which JetStream and catalog drop.
_IDS = uuid.UUID("9d3c1f0e-2b7a-4e55-8f61-0c4a3e9b7d12")


class ReleaseIn(BaseModel):
    """A release plan as a person describes it: at an event, or at a time."""

    title: Line = Field(min_length=1, max_length=300, examples=["Budget 2027"])
    local_event_id: uuid.UUID | None = Field(default=None, description="Ouvrir à cet événement")
    offset_minutes: int = Field(
        default=0, ge=-7 * 24 * 60, le=7 * 24 * 60, description="-60 : une heure avant le début"
    )
    at: Instant | None = Field(
        default=None, description="Ou bien à cette heure locale", examples=["2026-12-15T20:00"]
    )
    timezone: Line = Field(default="Europe/Paris", max_length=64)
    announce: bool = Field(
        default=False, description="Annoncer « à paraître » (titre et date seulement)"
    )

    @model_validator(mode="after")
    def one_moment(self) -> "ReleaseIn":
        if (self.local_event_id is None) == (self.at is None):
            raise ValueError("give either local_event_id or at / soit un événement, soit une heure")
        return self


def resolve(local: datetime, zone_name: str) -> datetime:
    """A wall-clock time to UTC, RFC 5545 style for the times a clock change skips or doubles."""
    zone = ZoneInfo(local_events.check_zone(zone_name))
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    # fold=0: for a doubled time, the first; for a skipped time, the offset before the change.
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _due(release: Release, event: LocalEvent | None) -> datetime | None:
    if release.fixed_at is not None:
        return release.fixed_at
    if event is None or event.status == "cancelled":
        return None
    return event.starts_at + timedelta(minutes=release.offset_minutes)


def describe(
    release: Release, *, full: bool = True, contents: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    """A plan as its organization sees it, with the ``contents`` catalog holds for it;
    ``full=False`` is the public announcement (title and date only)."""
    zone = ZoneInfo(release.timezone)
    body: dict[str, Any] = {
        "id": str(release.id),
        "organization": release.organization,
        "title": release.title,
        "opens_at": release.due_at.isoformat() if release.due_at else None,
        "opens_at_local": release.due_at.astimezone(zone).isoformat() if release.due_at else None,
    }
    if not full:
        return body
    body.update(
        status=release.status,
        local_event_id=str(release.local_event_id) if release.local_event_id else None,
        offset_minutes=release.offset_minutes,
        timezone=release.timezone,
        announce=release.announce,
        opened_at=release.opened_at.isoformat() if release.opened_at else None,
        delay_seconds=release.delay_seconds,
        upload_with={"release": str(release.id)},
        contents=contents or [],
    )
    return body


async def contents(
    session: AsyncSession, ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, str]]]:
    """The versions catalog holds for each of these releases, oldest first."""
    found: dict[uuid.UUID, list[dict[str, str]]] = {i: [] for i in ids}
    rows = await session.scalars(
        select(ReleaseContent)
        .where(ReleaseContent.release_id.in_(ids))
        .order_by(ReleaseContent.recorded_at)
    )
    for row in rows:
        found[row.release_id].append(
            {
                "dataset": row.dataset,
                "version_id": str(row.version_id),
                "download_url": row.download_url,
            }
        )
    return found


async def create(
    session: AsyncSession,
    org: Organization,
    data: ReleaseIn,
    *,
    source: str,
    now: datetime | None = None,
) -> Release:
    """Plan a release for ``org``; its event must be one of ``org``'s. ``now`` is the clock's
    reading (tests set it; the service leaves it to the system clock)."""
    event = None
    if data.local_event_id is not None:
        event = await local_events.get(session, data.local_event_id)
        if event.organization != org.slug:
            raise Forbidden(
                "Cet événement appartient à une autre organisation.",
                "This event belongs to another organization.",
            )
    release = Release(
        id=uuid.uuid4(),
        organization=org.slug,
        title=data.title,
        local_event_id=data.local_event_id,
        offset_minutes=data.offset_minutes,
        fixed_at=resolve(data.at, data.timezone) if data.at is not None else None,
        timezone=event.timezone if event else data.timezone,
        announce=data.announce,
        status="scheduled",
    )
    release.due_at = _due(release, event)
    if release.due_at is None:
        release.status = "held"
    elif release.due_at < (now or utcnow()) - PAST_GRACE:
        raise InvalidTime(
            f"Cette publication s'ouvrirait le {_local(release):%d/%m/%Y à %H:%M}, une date "
            "passée : les données seraient publiées tout de suite. Choisissez une date à venir.",
            f"This release would open at {release.due_at:%Y-%m-%d %H:%M} UTC, in the past: the "
            "data would be published at once. Choose a time to come.",
        )
    session.add(release)
    await session.flush()
    announce(session, release, event, source=source)
    return release


def announce(
    session: AsyncSession, release: Release, event: LocalEvent | None, *, source: str
) -> None:
    """Send the plan as it now stands (``release.planned.v1``), in the transaction that
    changed it, so ingest can offer it to whoever uploads."""
    enqueue(
        session,
        Outbox,
        events.ReleasePlanned(
            source=source,
            release_id=release.id,
            organization=release.organization,
            title=release.title,
            status=release.status,
            opens_at=release.due_at,
            timezone=release.timezone,
            local_event_title=event.title if event else None,
            changed_at=utcnow(),
        ),
    )


async def announce_all(session: AsyncSession, *, source: str) -> int:
    """Announce every plan still to open, at start-up: services that joined after a plan was
    made (or before ``release.planned.v1`` existed) learn it too."""
    plans = (
        await session.scalars(select(Release).where(Release.status.in_(("scheduled", "held"))))
    ).all()
    for release in plans:
        event = await _event_of(session, release)
        announce(session, release, event, source=source)
    return len(plans)


async def get(session: AsyncSession, release_id: uuid.UUID, org: Organization) -> Release:
    release = await session.get(Release, release_id)
    if release is None or release.organization != org.slug:
        raise NotFound(
            "Aucune publication programmée ne porte cet identifiant.", "No such release."
        )
    return release


async def withdraw(session: AsyncSession, release: Release, *, source: str) -> None:
    """Give up a plan that has not opened: its versions stay embargoed."""
    # Locked, so that a scheduler opening it at this moment goes first or waits.
    await session.refresh(release, with_for_update=True)
    if release.status == "opened":
        raise Forbidden(
            "Cette publication a déjà eu lieu : les données sont ouvertes.",
            "This release has already opened.",
        )
    release.status = "withdrawn"
    release.due_at = None
    announce(session, release, None, source=source)


async def follow_event(
    session: AsyncSession, event: LocalEvent, *, source: str, now: datetime | None = None
) -> None:
    """Move or hold the plans of an event that changed (or was removed: ``status`` cancelled)."""
    now = now or utcnow()
    plans = (
        await session.scalars(
            select(Release)
            .where(Release.local_event_id == event.id, Release.status.in_(("scheduled", "held")))
            # Locked: a release the scheduler is opening right now is left to it.
            .with_for_update()
        )
    ).all()
    for release in plans:
        due = _due(release, event)
        reason = None
        if due is None:
            reason = (
                f"L'événement « {event.title} » est annulé : la publication attend une "
                "nouvelle date."
            )
        elif due < now - PAST_GRACE:
            # An event moved (or restored) into the past would publish at once: held instead,
            # for a person to choose.
            reason = (
                f"L'événement « {event.title} » a maintenant une date passée : la publication "
                "attend une nouvelle date plutôt que de s'ouvrir aussitôt."
            )
        if reason is None:
            release.due_at = due
            release.status = "scheduled"
            announce(session, release, event, source=source)
            continue
        release.due_at = None
        newly_held = release.status != "held"
        release.status = "held"
        announce(session, release, event, source=source)
        if newly_held:
            enqueue(
                session,
                Outbox,
                events.ReleaseHeld(
                    source=source,
                    release_id=release.id,
                    organization=release.organization,
                    title=release.title,
                    reason=reason,
                ),
            )


async def open_due(session: AsyncSession, *, source: str, now: datetime | None = None) -> int:
    """Open every release whose time has come; how many this call opened.

    The update is conditional on the status, so when two schedulers race for a release the
    database lets one through; the event commits with it.
    """
    now = now or utcnow()
    due = (
        await session.scalars(
            select(Release)
            .where(Release.status == "scheduled", Release.due_at <= now)
            .order_by(Release.due_at)
            .limit(500)
            .with_for_update(skip_locked=True)
        )
    ).all()
    opened = 0
    for release in due:
        assert release.due_at is not None
        won = await session.execute(
            update(Release)
            .where(Release.id == release.id, Release.status == "scheduled")
            .values(
                status="opened",
                opened_at=now,
                delay_seconds=(now - release.due_at).total_seconds(),
            )
            .execution_options(synchronize_session=False)
        )
        if won.rowcount != 1:  # type: ignore[attr-defined]
            continue
        metrics.RELEASE_DELAY.observe((now - release.due_at).total_seconds())
        event = await _event_of(session, release)
        # The opening starts a trace of its own: catalog's opening and the webhooks follow it.
        with tracing.span("release open", attributes={"release.id": str(release.id)}):
            enqueue(
                session,
                Outbox,
                events.ReleaseOpened(
                    id=uuid.uuid5(_IDS, f"{release.id}/opened"),
                    source=source,
                    release_id=release.id,
                    organization=release.organization,
                    title=release.title,
                    due_at=release.due_at,
                    opened_at=now,
                    local_event_title=event.title if event else None,
                ),
            )
        opened += 1
    return opened


async def next_due(session: AsyncSession) -> datetime | None:
    """When the next release is due, to sleep exactly until then."""
    return await session.scalar(
        select(Release.due_at)
        .where(Release.status == "scheduled", Release.due_at.is_not(None))
        .order_by(Release.due_at)
        .limit(1)
    )


async def upcoming(
    session: AsyncSession,
    *,
    organizations: list[str] | None,
    announced_only: bool,
    now: datetime | None = None,
) -> list[Release]:
    """Plans not opened yet, soonest first."""
    query = select(Release).where(
        Release.status == "scheduled", Release.due_at >= (now or utcnow())
    )
    if organizations is not None:
        query = query.where(Release.organization.in_(organizations))
    if announced_only:
        query = query.where(Release.announce.is_(True))
    return list((await session.scalars(query.order_by(Release.due_at))).all())


async def territory(session: AsyncSession, slug: str) -> list[str]:
    """An organization and every organization under it (commune → EPCI → département)."""
    parents = dict((await session.execute(select(Organization.slug, Organization.parent))).all())
    return sorted(territories.members(parents, slug))


async def _event_of(session: AsyncSession, release: Release) -> LocalEvent | None:
    """The local event a release is timed to (None for a fixed time)."""
    if release.local_event_id is None:
        return None
    return await session.get(LocalEvent, release.local_event_id)


def _local(release: Release) -> datetime:
    assert release.due_at is not None
    return release.due_at.astimezone(ZoneInfo(release.timezone))
