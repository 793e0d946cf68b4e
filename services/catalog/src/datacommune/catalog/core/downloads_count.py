"""Downloads counted per version and per day. No address, agent or cookie is kept: a counter."""

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.catalog.tables import DownloadCount
from datacommune.shared.db import upsert


async def count(session: AsyncSession, version_id: uuid.UUID, day: date | None = None) -> None:
    """Add one download of ``version_id`` today, atomically, whatever the concurrency."""
    day = day or datetime.now(UTC).date()
    await upsert(
        session,
        DownloadCount,
        {"version_id": version_id, "day": day, "count": 1},
        keys=["version_id", "day"],
        update=lambda _: {"count": DownloadCount.count + 1},
    )


async def totals(session: AsyncSession, version_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """All-time downloads of each version."""
    if not version_ids:
        return {}
    rows = await session.execute(
        select(DownloadCount.version_id, func.sum(DownloadCount.count))
        .where(DownloadCount.version_id.in_(version_ids))
        .group_by(DownloadCount.version_id)
    )
    return {version_id: int(total) for version_id, total in rows.all()}


async def per_day(session: AsyncSession, version_id: uuid.UUID) -> list[dict[str, Any]]:
    """Downloads of a version, day by day."""
    rows = await session.execute(
        select(DownloadCount.day, DownloadCount.count)
        .where(DownloadCount.version_id == version_id)
        .order_by(DownloadCount.day)
    )
    return [{"day": day.isoformat(), "count": n} for day, n in rows.all()]
