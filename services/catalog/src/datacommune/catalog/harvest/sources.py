"""Harvest sources: an organization's portals or catalogues to mirror, how often, and which are
due; each source's runs as its log shows them."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.catalog import problems
from datacommune.catalog.harvest import http, mirror
from datacommune.catalog.tables import (
    HarvestRecord,
    HarvestRun,
    HarvestSource,
)
from datacommune.shared.fields import Line
from datacommune.shared.outbox import utcnow


class SourceIn(BaseModel):
    """A portal or catalogue to harvest, and how often."""

    kind: Literal["ckan", "opendatasoft", "dcat"] = Field(examples=["ckan"])
    url: Line = Field(
        min_length=8,
        max_length=1000,
        description="L'adresse du portail (CKAN, OpenDataSoft) ou du catalogue DCAT.",
        examples=["https://data.exemple.fr"],
    )
    filter: Line | None = Field(
        default=None,
        max_length=1000,
        description="CKAN : un `fq` ; OpenDataSoft : un `where` (rien pour DCAT).",
        examples=["organization:ville-de-roques"],
    )
    interval_hours: float = Field(
        default=24, ge=0.25, le=24 * 31, description="Tous les combien d'heures"
    )


def describe_source(source: HarvestSource, last_run: HarvestRun | None) -> dict[str, Any]:
    return {
        "id": str(source.id),
        "organization": source.organization,
        "kind": source.kind,
        "url": source.url,
        "filter": source.filter,
        "interval_hours": source.interval_minutes / 60,
        "next_run_at": source.next_run_at.isoformat(),
        "running": source.run_id is not None and held(source),
        "created_at": source.created_at.isoformat(),
        "last_run": describe_run(last_run) if last_run else None,
    }


def describe_run(run: HarvestRun) -> dict[str, Any]:
    return {
        "id": str(run.id),
        "source": str(run.source_id),
        "status": run.status,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "counts": {
            "created": run.created,
            "updated": run.updated,
            "unchanged": run.unchanged,
            "deleted": run.deleted,
            "failed": run.failed,
        },
        "error": run.error,
        "failures": run.failures,
    }


def held(source: HarvestSource) -> bool:
    return source.lease_until is not None and source.lease_until > utcnow()


async def create_source(
    session: AsyncSession, organization: str, data: SourceIn, *, allow_private: bool
) -> HarvestSource:
    """Register a source; the scheduler harvests it at once, then every interval."""
    refused = await http.address_problem(data.url, allow_private=allow_private)
    if refused:
        raise problems.HarvestRefused(*refused)
    source = HarvestSource(
        id=uuid.uuid4(),
        organization=organization,
        kind=data.kind,
        url=data.url,
        filter=data.filter or None,
        interval_minutes=round(data.interval_hours * 60),
        next_run_at=utcnow(),
        created_at=utcnow(),
    )
    session.add(source)
    await session.flush()
    return source


async def list_sources(session: AsyncSession, organization: str) -> list[HarvestSource]:
    found = await session.scalars(
        select(HarvestSource)
        .where(HarvestSource.organization == organization)
        .order_by(HarvestSource.created_at)
    )
    return list(found.all())


async def get_source(
    session: AsyncSession, organization: str, source_id: uuid.UUID
) -> HarvestSource:
    """One source of the organization; a 404 problem otherwise (another's included)."""
    source = await session.get(HarvestSource, source_id)
    if source is None or source.organization != organization:
        raise problems.harvest_source_not_found()
    return source


async def last_runs(
    session: AsyncSession, source_id: uuid.UUID, limit: int = 50
) -> list[HarvestRun]:
    """The source's last runs, newest first."""
    found = await session.scalars(
        select(HarvestRun)
        .where(HarvestRun.source_id == source_id)
        .order_by(HarvestRun.started_at.desc())
        .limit(limit)
    )
    return list(found.all())


async def delete_source(session: AsyncSession, source: HarvestSource) -> int:
    """Forget a source, its log and the datasets it brought (mirrored: they are gone from the
    catalogue with it); how many datasets were deleted. Refused while it is being harvested."""
    if held(source):
        raise problems.harvest_running(str(source.run_id) if source.run_id else None)
    records = (
        await session.scalars(select(HarvestRecord).where(HarvestRecord.source_id == source.id))
    ).all()
    for record in records:
        await mirror.remove(session, record)
    await session.execute(delete(HarvestRun).where(HarvestRun.source_id == source.id))
    await session.delete(source)
    await session.flush()
    return len(records)


async def due(sessionmaker: async_sessionmaker[AsyncSession], now: datetime) -> list[uuid.UUID]:
    """The sources whose time has come and that nobody is harvesting."""
    async with sessionmaker() as session:
        found = await session.scalars(
            select(HarvestSource.id)
            .where(
                HarvestSource.next_run_at <= now,
                or_(HarvestSource.lease_until.is_(None), HarvestSource.lease_until < now),
            )
            .order_by(HarvestSource.next_run_at)
            .limit(20)
        )
        return list(found.all())
