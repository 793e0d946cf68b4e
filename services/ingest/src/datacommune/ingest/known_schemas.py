"""The schemas validate announced (``schemas.announced``), and the dataset title they suggest.

ingest never calls validate: the upload page offers the schemas validate last said it knows,
and a title made of the schema's, the year and the organization's name (« Subventions 2025 —
Roques ») for a person to keep or change.
"""

import re
from datetime import date

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.ingest.tables import KnownSchema
from datacommune.shared import events

_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")


async def record(session: AsyncSession, event: events.SchemasAnnounced) -> None:
    """Replace the list with this one, unless a newer one is already kept (idempotent)."""
    newest = await session.scalar(select(func.max(KnownSchema.announced_at)))
    if newest is not None and newest > event.time:
        return
    await session.execute(delete(KnownSchema))
    session.add_all(
        KnownSchema(
            name=s.name,
            version=s.version,
            title=s.title,
            fields=list(s.fields),
            announced_at=event.time,
        )
        for s in event.schemas
    )


async def listed(session: AsyncSession) -> list[KnownSchema]:
    """Every schema known, by title (what a person reads first)."""
    return list((await session.scalars(select(KnownSchema).order_by(KnownSchema.title))).all())


def suggested_title(schema_title: str, filename: str, organization: str, today: date) -> str:
    """« Subventions 2025 — Roques »: the year named in the file's name, else this year's."""
    found = _YEAR.search(filename)
    year = found.group(1) if found else str(today.year)
    return f"{schema_title} {year} — {organization}"[:300]
