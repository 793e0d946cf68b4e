"""Who may see what: the one place the embargo is decided.

A version waiting for its release is recorded with ``public = false``; so are its resource and
dataset until one of their versions is public. Every read path goes through
``Dataset.resources`` and ``Resource.versions`` (which only hold public rows), or filters on
the same flags, so a new endpoint cannot show an embargoed byte by forgetting a check. A
release opens in one transaction: all of its versions become public together, or none.
"""

import uuid
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.catalog.core.hooks import HOOKS, Opened
from datacommune.catalog.tables import Dataset, OpenedRelease, Resource, Version
from datacommune.shared import events, tracing
from datacommune.shared.outbox import utcnow


async def lock_release(session: AsyncSession, release_id: uuid.UUID) -> None:
    """Serialise what touches one release until the transaction ends: a version published
    while its release opens is either seen by the opening or sees it opened, never neither.
    (SQLite writers are serialised already.)"""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(release_id.bytes[:8], "big", signed=True)
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


async def opens_now(session: AsyncSession, release_id: uuid.UUID | None, organization: str) -> bool:
    """Whether a version published now is public now: no release, or one already opened
    for this organization (a release of another organization never opens it)."""
    if release_id is None:
        return True
    await lock_release(session, release_id)
    opened = await session.get(OpenedRelease, release_id)
    return (
        opened is not None and opened.applied_at is not None and opened.organization == organization
    )


async def next_number(session: AsyncSession, resource_id: uuid.UUID) -> int:
    """The number a version gets when it becomes public: one more than the public ones."""
    highest = await session.scalar(
        select(func.max(Version.number)).where(
            Version.resource_id == resource_id, Version.public.is_(True)
        )
    )
    return (highest or 0) + 1


async def make_public(
    session: AsyncSession, dataset: Dataset, resource: Resource, version: Version, at: datetime
) -> None:
    """Make a version public, with its public number; its resource and dataset with it (a
    dataset first made public by this version takes its title now, if it had none)."""
    if version.number < 0:
        version.number = await next_number(session, resource.id)
    version.public = True
    version.public_at = at
    resource.public = True
    if not dataset.public and dataset.title == dataset.slug:
        dataset.title = resource.title
    dataset.public = True
    dataset.updated_at = at
    await session.flush()


async def record_opening(session: AsyncSession, event: events.ReleaseOpened) -> OpenedRelease:
    """Remember that a release was opened by the scheduler; applied now if its time has come
    by this machine's clock too, else by ``apply_due`` when it does. Idempotent."""
    known = await session.get(OpenedRelease, event.release_id)
    if known is not None:
        return known
    release = OpenedRelease(
        release_id=event.release_id,
        organization=event.organization,
        title=event.title,
        local_event_title=event.local_event_title,
        due_at=event.due_at,
        opened_at=event.opened_at,
        applied_at=None,
        versions=0,
        traceparent=tracing.traceparent(),
    )
    session.add(release)
    await session.flush()
    return release


async def apply_due(
    session: AsyncSession, *, public_url: str, now: datetime | None = None
) -> list[Dataset]:
    """Open every recorded release whose time has come and that is not applied yet; the
    datasets that changed. Never before ``due_at`` by this machine's clock (``now``, which
    tests set): a scheduler whose clock runs ahead cannot open anything early here."""
    now = now or utcnow()
    due = (
        await session.scalars(
            select(OpenedRelease).where(
                OpenedRelease.applied_at.is_(None), OpenedRelease.due_at <= now
            )
        )
    ).all()
    changed: list[Dataset] = []
    for release in due:
        changed += await _open(session, release, now, public_url=public_url)
    return changed


async def next_due(session: AsyncSession) -> datetime | None:
    """When the next recorded release not applied yet is due."""
    return await session.scalar(
        select(OpenedRelease.due_at)
        .where(OpenedRelease.applied_at.is_(None))
        .order_by(OpenedRelease.due_at)
        .limit(1)
    )


async def _open(
    session: AsyncSession, release: OpenedRelease, now: datetime, *, public_url: str
) -> list[Dataset]:
    """Make every version waiting for the release public, in this transaction."""
    await lock_release(session, release.release_id)
    await session.refresh(release)
    if release.applied_at is not None:
        return []
    # Part of the opening's trace, whether its event or catalog's clock applies it.
    with tracing.hop("release apply", release.traceparent, tracing.SpanKind.INTERNAL):
        waiting = (
            await session.execute(
                select(Version, Resource, Dataset)
                .join(Resource, Resource.id == Version.resource_id)
                .join(Dataset, Dataset.id == Resource.dataset_id)
                .where(
                    Version.release_id == release.release_id,
                    Version.public.is_(False),
                    # Only the release's own organization's versions: an id given by another
                    # organization opens nothing of theirs.
                    Dataset.organization == release.organization,
                )
                .with_for_update()
            )
        ).all()
        changed: dict[uuid.UUID, Dataset] = {}
        opened: dict[uuid.UUID, list[tuple[Resource, Version]]] = {}
        for version, resource, dataset in waiting:
            await make_public(session, dataset, resource, version, now)
            changed[dataset.id] = dataset
            opened.setdefault(dataset.id, []).append((resource, version))
        release.applied_at = now
        release.versions = len(waiting)
        for dataset_id, versions in opened.items():
            await HOOKS.dataset_opened(
                session, Opened(changed[dataset_id], versions, release, public_url)
            )
        await session.flush()
        return list(changed.values())
