"""The counts kept ahead of searches (search/counts.py) stay equal to a count from scratch
through every change a dataset goes through, and searches too large to count say they are
estimated (search/summary.py). On SQLite and PostgreSQL."""

import random
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.catalog import search
from datacommune.catalog.core import datasets, metadata
from datacommune.catalog.search import counts, summary
from datacommune.catalog.tables import Dataset, DatasetFacet, Organization, SearchCount
from datacommune.shared import tokens
from datacommune.shared.db import make_engine, make_sessionmaker
from datacommune.shared.settings import DatabaseSettings

ORGANIZATIONS = ["roques", "sicoval", "labege", "lanta"]
THEMES = ["GOVE", "ECON", "TRAN", "SOCI"]
LICENCES = ["etalab-2.0", "odbl-1.0"]
SUBJECTS = [
    "Budget primitif",
    "Subventions aux associations",
    "Bornes de recharge",
    "Budgets annexes",
]


@pytest.fixture
async def sessions(
    catalog_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    # Small enough that words become kept, and searches estimated, among a few dozen datasets.
    monkeypatch.setattr(counts, "FULL", 4)
    engine = make_engine(DatabaseSettings(url=catalog_url))
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker.begin() as session:
        for slug in ORGANIZATIONS:
            session.add(
                Organization(
                    slug=slug, name=slug.title(), kind="commune", token_hash=tokens.hash_token(slug)
                )
            )
    yield sessionmaker
    await engine.dispose()


async def from_scratch(session: AsyncSession) -> tuple[Counter[tuple[str, str, str]], set[str]]:
    """Every count row as it should be, from the datasets themselves, and the words kept."""
    values: dict[object, set[tuple[str, str]]] = {}
    for dataset_id, facet, value in await session.execute(
        select(DatasetFacet.dataset_id, DatasetFacet.facet, DatasetFacet.value)
    ):
        values.setdefault(dataset_id, set()).add((facet, value))
    kept = set(
        (await session.scalars(select(SearchCount.term).where(SearchCount.facet == "*"))).all()
    )
    expected: Counter[tuple[str, str, str]] = Counter()
    for dataset in (await session.scalars(select(Dataset))).all():
        own = values.get(dataset.id)
        if not own:
            continue
        terms = {"", *(f"f:{f}={v}" for f, v in own)}
        found_by = {f"w:{t}" for t in dataset.search_text.split()}
        for term in terms | found_by:
            expected[(term, "", "")] += 1
            if term in terms or term in kept:
                expected.update((term, f, v) for f, v in own)
    return expected, kept


async def assert_counts_exact(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session:
        expected, kept = await from_scratch(session)
        everything = await session.execute(
            select(SearchCount.term, SearchCount.facet, SearchCount.value, SearchCount.count)
        )
        stored = Counter({(t, f, v): c for t, f, v, c in everything.all() if f != "*" and c})
    assert stored == +expected
    words = {
        term for (term, facet, _), c in expected.items() if term.startswith("w:") and not facet
    }
    assert {w for w in words if expected[(w, "", "")] >= counts.FULL} <= kept


async def exact(
    session: AsyncSession, query: search.Query
) -> tuple[int, dict[str, dict[str, int]]]:
    """The total and facets of a search, counted over its matches."""
    conditions = [Dataset.public.is_(True)]
    for token in search.words(query.q):
        conditions.append(counts.found_by(session.get_bind().dialect.name, [token]))
    if query.theme:
        conditions.append(Dataset.theme == query.theme)
    if query.organization:
        conditions.append(Dataset.organization == query.organization)
    found = await counts.tally(session, counts.faceted().where(*conditions))
    return found.total, {f: v for f, v in found.facets.items() if v}


def facets_of(results: search.Results) -> dict[str, dict[str, int]]:
    return {
        f: {v["value"]: v["count"] for v in values}
        for f, values in results.facets.items()
        if values
    }


async def test_counts_stay_exact_through_every_change(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    rng = random.Random(5)
    for n in range(24):
        async with sessions.begin() as session:
            dataset = Dataset(
                slug=f"jeu-{n}", organization=rng.choice(ORGANIZATIONS), title=rng.choice(SUBJECTS)
            )
            session.add(dataset)
            await session.flush()
            await datasets.patch(
                session,
                dataset,
                metadata.DatasetPatch(theme=rng.choice(THEMES), licence=rng.choice(LICENCES)),
            )
    await assert_counts_exact(sessions)
    # Titles (words), themes and licences (values) change; some datasets close and reopen.
    for n in range(40):
        async with sessions.begin() as session:
            slug = f"jeu-{rng.randrange(24)}"
            dataset = await session.scalar(select(Dataset).where(Dataset.slug == slug))
            assert dataset is not None
            change = rng.randrange(4)
            if change == 0:
                patch = metadata.DatasetPatch(title=rng.choice(SUBJECTS) + f" {n}")
            elif change == 1:
                patch = metadata.DatasetPatch(theme=rng.choice(THEMES))
            elif change == 2:
                patch = metadata.DatasetPatch(licence=rng.choice(LICENCES))
            else:
                dataset.public = not dataset.public
                patch = metadata.DatasetPatch()
            await datasets.patch(session, dataset, patch)
        if n % 10 == 9:
            await assert_counts_exact(sessions)
    # Every search of one part is read from the counts, and equals a count over its matches.
    async with sessions() as session:
        for query in (
            search.Query(),
            search.Query(q="budget"),
            search.Query(q="subvention"),
            search.Query(theme="ECON"),
            search.Query(organization="roques"),
        ):
            found = await search.find(session, query)
            assert (found.total_estimated, found.facets_estimated) == (False, False)
            assert (found.total, facets_of(found)) == await exact(session, query), query


async def test_searches_too_large_to_count_are_estimated_and_say_so(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with sessions.begin() as session:
        for n in range(30):
            dataset = Dataset(
                slug=f"jeu-{n}", organization=ORGANIZATIONS[n % 4], title="Budget primitif"
            )
            session.add(dataset)
            await session.flush()
            await datasets.patch(session, dataset, metadata.DatasetPatch(theme=THEMES[n % 2]))
    monkeypatch.setattr(summary, "EXACT", 5)
    monkeypatch.setattr(summary, "SAMPLE", 10)
    async with sessions() as session:
        # Two words, each in every dataset: estimated from the first 10, total and facets.
        both = await search.find(session, search.Query(q="budget primitif"))
        assert (both.total_estimated, both.facets_estimated) == (True, True)
        assert both.total == 30
        # A word and a theme: the total is read from the word's facets, exact; its other
        # facets are estimated.
        econ = await search.find(session, search.Query(q="budget", theme="ECON"))
        total, facets = await exact(session, search.Query(q="budget", theme="ECON"))
        assert (econ.total, econ.total_estimated, econ.facets_estimated) == (total, False, True)
        assert set(facets_of(econ)["organization"]) <= set(facets["organization"])
        # Small enough to count: counted, exact.
        monkeypatch.setattr(summary, "EXACT", 50)
        counted = await search.find(session, search.Query(q="budget primitif"))
        assert (counted.total, counted.total_estimated) == (30, False)
        # A word begun that several words continue (Labège, Lanta) is no one term: bounded by
        # the sum of their counts (14), small enough here to be counted.
        begun = await search.find(session, search.Query(q="la"))
        assert (begun.total, facets_of(begun)) == await exact(session, search.Query(q="la"))
        assert (begun.total, begun.total_estimated) == (14, False)
        # Larger than EXACT: estimated from the 10 newest, at that bound, and said so.
        monkeypatch.setattr(summary, "EXACT", 5)
        begun = await search.find(session, search.Query(q="la"))
        assert (begun.total, begun.total_estimated, begun.facets_estimated) == (14, True, True)
        # A sample that holds every match is a count.
        monkeypatch.setattr(summary, "SAMPLE", 20)
        begun = await search.find(session, search.Query(q="la primitif"))
        assert (begun.total, facets_of(begun)) == await exact(session, search.Query(q="la"))
        assert (begun.total_estimated, begun.facets_estimated) == (False, False)
        # Continued by more words than CONTINUED: not bounded, counted.
        monkeypatch.setattr(summary, "CONTINUED", 1)
        begun = await search.find(session, search.Query(q="la"))
        assert (begun.total, begun.total_estimated) == (14, False)
