"""Harvesting: an organization's existing portal (CKAN, OpenDataSoft) or DCAT catalogue,
mirrored into the shared catalogue on a schedule.

Each run lists the source completely, page by page: a new remote dataset is created, a changed
one (by its digest) replaced, an unchanged one left alone, and one the source no longer lists
deleted — but only when the run saw the whole source. A run that stopped mid-way, hit a limit
of the source's API or saw fewer datasets than the source said it holds deletes nothing: that
is how neither zombie datasets nor wrongful deletions happen. Each dataset that fails is logged
with its remote id, a stable code and why, and the run goes on. A run holds a lease on its
source, so two replicas never harvest it at once.
"""

import contextlib
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.catalog.harvest import http, mirror
from datacommune.catalog.harvest.dcat_listing import DcatListing
from datacommune.catalog.harvest.listings import CkanListing, Listing, OdsListing
from datacommune.catalog.harvest.records import Failure, Remote
from datacommune.catalog.tables import (
    HarvestRecord,
    HarvestRun,
    HarvestSource,
)
from datacommune.shared.outbox import utcnow

log = structlog.get_logger()

LEASE = timedelta(minutes=2)
KINDS: dict[str, type[Listing]] = {
    "ckan": CkanListing,
    "opendatasoft": OdsListing,
    "dcat": DcatListing,
}
RENEW_EVERY = 50  # records
MAX_LOGGED = 1000  # failures kept in a run's log


async def claim(
    sessionmaker: async_sessionmaker[AsyncSession], source_id: uuid.UUID, *, due_only: bool
) -> uuid.UUID | None:
    """Take the source's lease and open a run; None if another run holds it (or, with
    ``due_only``, if it is not due). A conditional update: one replica wins."""
    now = utcnow()
    run_id = uuid.uuid4()
    free = or_(HarvestSource.lease_until.is_(None), HarvestSource.lease_until < now)
    conditions = [HarvestSource.id == source_id, free]
    if due_only:
        conditions.append(HarvestSource.next_run_at <= now)
    async with sessionmaker.begin() as session:
        won = await session.execute(
            update(HarvestSource).where(*conditions).values(lease_until=now + LEASE, run_id=run_id)
        )
        if won.rowcount != 1:  # type: ignore[attr-defined]
            return None
        # A run whose replica died holding the lease is closed, and says so.
        await session.execute(
            update(HarvestRun)
            .where(HarvestRun.source_id == source_id, HarvestRun.status == "running")
            .values(status="interrupted", finished_at=now, error=_interrupted())
        )
        session.add(
            HarvestRun(
                id=run_id,
                source_id=source_id,
                status="running",
                started_at=now,
                created=0,
                updated=0,
                unchanged=0,
                deleted=0,
                failed=0,
                failures=[],
            )
        )
    return run_id


def internal_error(exc: Exception) -> dict[str, Any]:
    """The log entry of a run a bug stopped (its traceback is in the service's log)."""
    why = type(exc).__name__
    return {
        "code": "internal-error",
        "detail": f"Erreur inattendue du catalogue ({why}) : rien n'a été supprimé. Signalez-la "
        "à l'administrateur ; le prochain passage reprend tout.",
        "detail_en": f"Unexpected catalogue error ({why}): nothing was deleted. Report it to "
        "the administrator; the next run reads everything again.",
    }


def _interrupted() -> dict[str, Any]:
    return {
        "code": "interrupted",
        "detail": "Le moissonnage s'est arrêté en cours (arrêt ou panne du catalogue) : rien "
        "n'a été supprimé ; le prochain passage reprend tout.",
        "detail_en": "The harvest stopped mid-way (the catalogue stopped or crashed): nothing "
        "was deleted; the next run reads everything again.",
    }


@dataclass
class _Run:
    """What a run has done so far."""

    id: uuid.UUID
    source_id: uuid.UUID
    organization: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0
    lost: bool = False
    # The first MAX_LOGGED failures, in the order met; ``failed`` counts them all.
    failures: list[dict[str, Any]] = field(default_factory=list)
    # Every remote id the source listed this time, taken or failed.
    seen: set[str] = field(default_factory=set)


async def harvest(
    sessionmaker: async_sessionmaker[AsyncSession],
    run_id: uuid.UUID,
    fetcher: http.Fetcher,
) -> HarvestRun:
    """Carry out a claimed run to its end and log it; returns the finished run."""
    async with sessionmaker() as session:
        run_row = await session.get(HarvestRun, run_id)
        assert run_row is not None
        source = await session.get(HarvestSource, run_row.source_id)
        assert source is not None
        listing = KINDS[source.kind](fetcher, source.url, source.filter)
        interval = timedelta(minutes=source.interval_minutes)
    run = _Run(id=run_id, source_id=source.id, organization=source.organization)
    error: dict[str, Any] | None = None
    pages = 0
    try:
        async with contextlib.aclosing(listing.pages()) as listed:
            async for page in listed:
                pages += 1
                for done, entry in enumerate(page, 1):
                    await _take(sessionmaker, run, entry)
                    if done % RENEW_EVERY == 0 and not await _renew(sessionmaker, run):
                        break
                if run.lost or not await _renew(sessionmaker, run):
                    break
    except http.SourceError as exc:
        error = exc.as_log()
    if run.lost:
        error = _interrupted()
    else:
        error = error or _incomplete(listing.truncated, listing.total, len(run.seen))
    if error is None:
        error = await _mirror(sessionmaker, run)
    status = "succeeded" if error is None else "failed" if pages == 0 else "incomplete"
    if run.lost:
        status = "interrupted"
    return await _finish(sessionmaker, run, status, error, interval)


def _incomplete(truncated: bool, total: int | None, seen: int) -> dict[str, Any] | None:
    if truncated:
        return {
            "code": "listing-truncated",
            "detail": "Le portail ne laisse pas lire plus loin (limite de pagination de son "
            "API) : les jeux vus sont à jour, mais rien n'a été supprimé. Filtrez la source "
            "pour qu'elle tienne dans cette limite.",
            "detail_en": "The portal does not let us read further (its API's paging limit): "
            "the datasets seen are up to date, but nothing was deleted. Filter the source so "
            "that it fits within that limit.",
        }
    if total is not None and seen < total:
        return {
            "code": "listing-inconsistent",
            "detail": f"Le portail annonce {total} jeux de données, {seen} ont été lus (il a "
            "sans doute changé pendant la lecture) : rien n'a été supprimé ; le prochain "
            "passage relira tout.",
            "detail_en": f"The portal announces {total} datasets, {seen} were read (it probably "
            "changed during the run): nothing was deleted; the next run reads everything again.",
        }
    return None


async def _take(
    sessionmaker: async_sessionmaker[AsyncSession], run: _Run, entry: Remote | Failure
) -> None:
    """Apply one listed entry, in its own transaction: one dataset's failure is logged and
    stops nothing."""
    remote_id = entry.remote_id
    if remote_id is not None:
        if remote_id in run.seen:
            return  # listed twice (the source changed between pages): done already
        run.seen.add(remote_id)
    if isinstance(entry, Failure):
        _log_failure(run, entry)
        if remote_id is not None:
            async with sessionmaker.begin() as session:
                await _mark_seen(session, run, remote_id)
        return
    try:
        async with sessionmaker.begin() as session:
            outcome = await mirror.apply(session, run, entry)
    except IntegrityError:
        # Another source (or an upload) took the same dataset or slug at the same moment.
        outcome = mirror.duplicate(
            entry,
            f"le jeu « {entry.name} » a été pris au même moment par une autre source",
            f"the dataset {entry.name!r} was taken at the same moment by another source",
        )
    except Exception as exc:
        log.exception("harvest_record_failed", remote_id=remote_id)
        why = type(exc).__name__
        outcome = Failure(
            remote_id,
            "internal-error",
            f"Erreur inattendue du catalogue ({why}) : signalez-la à l'administrateur.",
            f"Unexpected catalogue error ({why}): report it to the administrator.",
        )
    if isinstance(outcome, Failure):
        _log_failure(run, outcome)
        async with sessionmaker.begin() as session:
            await _mark_seen(session, run, entry.remote_id)
    else:
        setattr(run, outcome, getattr(run, outcome) + 1)


def _log_failure(run: _Run, failure: Failure) -> None:
    run.failed += 1
    if len(run.failures) < MAX_LOGGED:
        run.failures.append(failure.as_log())


async def _mark_seen(session: AsyncSession, run: _Run, remote_id: str) -> None:
    """A dataset the source still lists is not deleted, even if it failed this time."""
    await session.execute(
        update(HarvestRecord)
        .where(HarvestRecord.source_id == run.source_id, HarvestRecord.remote_id == remote_id)
        .values(last_seen_run=run.id)
    )


async def _mirror(
    sessionmaker: async_sessionmaker[AsyncSession], run: _Run
) -> dict[str, Any] | None:
    """Delete what the source no longer lists (the run saw it whole); the cause if it
    would not."""
    async with sessionmaker() as session:
        gone = (
            await session.scalars(
                select(HarvestRecord.remote_id).where(
                    HarvestRecord.source_id == run.source_id,
                    or_(
                        HarvestRecord.last_seen_run.is_(None),
                        HarvestRecord.last_seen_run != run.id,
                    ),
                )
            )
        ).all()
    if gone and not run.seen:
        return {
            "code": "empty-listing",
            "detail": "Le portail ne liste plus aucun jeu de données : par prudence, rien n'a "
            f"été supprimé ({len(gone)} jeux gardés). Si c'est voulu, supprimez la source.",
            "detail_en": "The portal lists no dataset any more: to be safe, nothing was "
            f"deleted ({len(gone)} datasets kept). If that is intended, delete the source.",
        }
    for remote_id in gone:
        async with sessionmaker.begin() as session:
            record = await session.get(HarvestRecord, (run.source_id, remote_id))
            if record is not None and record.last_seen_run != run.id:
                await mirror.remove(session, record)
                run.deleted += 1
    return None


async def _renew(sessionmaker: async_sessionmaker[AsyncSession], run: _Run) -> bool:
    """Extend the lease and show progress in the log; False if another run holds the source
    (this one stalled past its lease): it must stop."""
    async with sessionmaker.begin() as session:
        kept = await session.execute(
            update(HarvestSource)
            .where(HarvestSource.id == run.source_id, HarvestSource.run_id == run.id)
            .values(lease_until=utcnow() + LEASE)
        )
        if kept.rowcount != 1:  # type: ignore[attr-defined]
            run.lost = True
            return False
        await session.execute(
            update(HarvestRun).where(HarvestRun.id == run.id).values(**_counts(run))
        )
    return True


def _counts(run: _Run) -> dict[str, Any]:
    return {
        "created": run.created,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "deleted": run.deleted,
        "failed": run.failed,
        "failures": run.failures,
    }


async def _finish(
    sessionmaker: async_sessionmaker[AsyncSession],
    run: _Run,
    status: str,
    error: dict[str, Any] | None,
    interval: timedelta,
) -> HarvestRun:
    now = utcnow()
    async with sessionmaker.begin() as session:
        row = await session.get(HarvestRun, run.id)
        assert row is not None
        for name, value in _counts(run).items():
            setattr(row, name, value)
        row.status, row.error, row.finished_at = status, error, now
        # Only the lease holder lets go (and sets the next time).
        await session.execute(
            update(HarvestSource)
            .where(HarvestSource.id == run.source_id, HarvestSource.run_id == run.id)
            .values(lease_until=None, run_id=None, next_run_at=now + interval)
        )
    log.info(
        "harvest_finished",
        run=str(run.id),
        source=str(run.source_id),
        status=status,
        created=run.created,
        updated=run.updated,
        unchanged=run.unchanged,
        deleted=run.deleted,
        failed=run.failed,
        error=error["code"] if error else None,
    )
    return row


async def interrupt(
    sessionmaker: async_sessionmaker[AsyncSession],
    run_id: uuid.UUID,
    error: dict[str, Any] | None = None,
) -> None:
    """Close a run this replica stops (shutdown, or a bug: ``error`` says which), and free its
    source at once; nothing was deleted."""
    now = utcnow()
    async with sessionmaker.begin() as session:
        await session.execute(
            update(HarvestRun)
            .where(HarvestRun.id == run_id, HarvestRun.status == "running")
            .values(status="interrupted", finished_at=now, error=error or _interrupted())
        )
        await session.execute(
            update(HarvestSource)
            .where(HarvestSource.run_id == run_id)
            .values(lease_until=None, run_id=None)
        )
