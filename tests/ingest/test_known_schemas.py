"""The schemas validate announces, as ingest keeps them for its upload page, and the title they
suggest for a dataset."""

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.ingest import known_schemas
from datacommune.ingest.consumers import apply
from datacommune.shared import events

SUBSIDIES = events.SchemaSummary(
    name="scdl-subventions", version="2.1.1", title="Subventions", fields=["nomAttribuant"]
)
BUDGET = events.SchemaSummary(name="scdl-budget", version="0.8.3", title="Budget")


def announced(*schemas: events.SchemaSummary, at: datetime) -> events.SchemasAnnounced:
    return events.SchemasAnnounced(source="validate", time=at, schemas=list(schemas))


async def test_the_newest_list_replaces_the_older_one_in_any_order(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime.now(UTC)
    newer = announced(SUBSIDIES, BUDGET, at=now)
    older = announced(SUBSIDIES, at=now - timedelta(minutes=5))
    for event in (newer, older, newer):  # late, and twice: the newest stays
        async with sessionmaker.begin() as session:
            await apply(session, event)
    async with sessionmaker() as session:
        kept = await known_schemas.listed(session)
    assert [(s.name, s.title) for s in kept] == [
        ("scdl-budget", "Budget"),
        ("scdl-subventions", "Subventions"),
    ]
    assert kept[1].fields == ["nomAttribuant"]
    async with sessionmaker.begin() as session:
        await apply(session, announced(BUDGET, at=now + timedelta(seconds=1)))
    async with sessionmaker() as session:
        assert [s.name for s in await known_schemas.listed(session)] == ["scdl-budget"]


def test_the_title_takes_the_year_from_the_file_name() -> None:
    today = date(2026, 12, 6)
    suggest = known_schemas.suggested_title
    assert suggest("Subventions", "subventions-2025.csv", "Roques", today) == (
        "Subventions 2025 — Roques"
    )
    assert suggest("Subventions", "export.csv", "Roques", today) == "Subventions 2026 — Roques"
    # Digits that are not a year (a département's number, a long reference) are not taken.
    assert suggest("Budget", "dep46-20251.csv", "Lot", today) == "Budget 2026 — Lot"
