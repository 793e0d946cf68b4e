"""Keep and read the places, by INSEE code."""

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.catalog.places.schemas import PlaceIn
from datacommune.catalog.tables import Place
from datacommune.shared.db import upsert
from datacommune.shared.outbox import utcnow


async def store(session: AsyncSession, items: list[PlaceIn], source: str) -> None:
    """Add or replace each place (a reference loaded again replaces its figures)."""
    now = utcnow()
    for item in items:
        await upsert(
            session,
            Place,
            {**item.model_dump(), "source": source, "updated_at": now},
            keys=["insee_code"],
        )


async def by_codes(session: AsyncSession, codes: Iterable[str]) -> dict[str, Place]:
    """The places known among ``codes``."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    found = await session.scalars(select(Place).where(Place.insee_code.in_(wanted)))
    return {p.insee_code: p for p in found}


def describe(place: Place) -> dict[str, object]:
    box = None
    if None not in (place.west, place.south, place.east, place.north):
        box = [place.west, place.south, place.east, place.north]
    return {
        "insee_code": place.insee_code,
        "name": place.name,
        "centre": [place.longitude, place.latitude],
        "bbox": box,
        "source": place.source,
        "updated_at": place.updated_at.isoformat(),
    }
