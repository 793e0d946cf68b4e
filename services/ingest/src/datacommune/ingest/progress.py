"""Following an upload as the other services report back: its status only moves forward, and
an embargoed one waits for its release (opened, held or planned)."""

import uuid
from typing import Any

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.ingest.tables import (
    Release,
    Upload,
)
from datacommune.shared import events
from datacommune.shared.bus import NotYet
from datacommune.shared.outbox import utcnow

log = structlog.get_logger()


# Statuses only move forward; events from different streams may arrive out of order.
RANK = {
    "received": 0,
    "validating": 1,
    "valid": 2,
    "invalid": 2,
    # Published but embargoed until its release opens, then published.
    "scheduled": 3,
    "published": 4,
    "rejected": 4,
}


async def settle(session: AsyncSession, upload_id: uuid.UUID, status: str, **values: Any) -> None:
    """Mark an upload published or rejected, once its validation was applied: the catalog's
    decision can arrive before the report it follows, as they travel on different streams."""
    upload = await session.get(Upload, upload_id, with_for_update=True)
    if upload is not None and upload.report_key is None:
        raise NotYet(f"upload {upload_id} has no report yet")
    _move(upload, status, values)


async def advance(session: AsyncSession, upload_id: uuid.UUID, status: str, **values: Any) -> None:
    """Move an upload forward to ``status``; an older or repeated event changes nothing."""
    # Locked, so two events for the same upload applied at once cannot undo each other.
    _move(await session.get(Upload, upload_id, with_for_update=True), status, values)


def _move(upload: Upload | None, status: str, values: dict[str, Any]) -> None:
    if upload is None:
        return
    for name, value in values.items():
        setattr(upload, name, value)
    if RANK[status] > RANK[upload.status]:
        upload.status = status


async def release_opened(session: AsyncSession, event: events.ReleaseOpened) -> None:
    """The uploads of its organization that waited for a release are public now; the release
    is remembered as opened, for the uploads whose publication is told after this (the two
    events travel on different streams, so either may come first)."""
    known = await session.get(Release, event.release_id, with_for_update=True)
    if known is None:
        known = Release(id=event.release_id, timezone="UTC")
        session.add(known)
    known.organization = event.organization
    known.title = event.title
    known.status = "opened"
    known.opens_at = event.due_at
    known.local_event_title = event.local_event_title
    # Later than any plan announced before the opening, so no such plan undoes it.
    known.changed_at = max(event.opened_at, known.changed_at or event.opened_at)
    await session.execute(
        update(Upload)
        .where(
            Upload.release_id == event.release_id,
            Upload.organization == event.organization,
            Upload.status == "scheduled",
        )
        .values(status="published", detail=None, updated_at=utcnow())
    )


async def opened_already(session: AsyncSession, release_id: uuid.UUID, organization: str) -> bool:
    """Whether ``release.opened`` for this organization's release has been applied here."""
    release = await session.get(Release, release_id)
    return (
        release is not None
        and release.status == "opened"
        and (release.organization == organization)
    )


async def release_held(session: AsyncSession, release_id: uuid.UUID, reason: str) -> None:
    """Tell the organization, on each upload waiting for it, that its release is held."""
    await session.execute(
        update(Upload)
        .where(Upload.release_id == release_id, Upload.status == "scheduled")
        .values(detail=reason, updated_at=utcnow())
    )


async def release_planned(session: AsyncSession, event: events.ReleasePlanned) -> None:
    """Keep the plan as events now describes it; an older description changes nothing."""
    known = await session.get(Release, event.release_id, with_for_update=True)
    if known is None:
        known = Release(id=event.release_id, changed_at=event.changed_at)
        session.add(known)
    elif known.changed_at >= event.changed_at or known.status == "opened":
        # An opened release stays opened whatever plan is told afterwards.
        return
    known.organization = event.organization
    known.title = event.title
    known.status = event.status
    known.opens_at = event.opens_at
    known.timezone = event.timezone
    known.local_event_title = event.local_event_title
    known.changed_at = event.changed_at


async def coming_releases(session: AsyncSession, organization: str) -> list[Release]:
    """The organization's plans still to open, soonest first: what an upload can wait for."""
    return list(
        (
            await session.scalars(
                select(Release)
                .where(
                    Release.organization == organization,
                    Release.status == "scheduled",
                    Release.opens_at > utcnow(),
                )
                .order_by(Release.opens_at)
            )
        ).all()
    )


async def by_status(session: AsyncSession) -> dict[str, int]:
    """How many uploads are at each status (every status named, 0 included), for /metrics."""
    counts = dict.fromkeys(RANK, 0)
    rows = await session.execute(select(Upload.status, func.count()).group_by(Upload.status))
    for status, count in rows.all():
        counts[status] = int(count)
    return counts
