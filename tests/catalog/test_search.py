"""French search, facets and cursor pages: the same results on SQLite and PostgreSQL."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.catalog import search
from datacommune.catalog.core import datasets, metadata
from datacommune.catalog.problems import InvalidCursor
from datacommune.catalog.search import query as search_query
from datacommune.catalog.tables import Dataset, Organization, Resource, Version
from datacommune.shared import tokens
from datacommune.shared.db import make_engine, make_sessionmaker
from datacommune.shared.settings import DatabaseSettings

TITLES = {
    "deliberations-roques": ("roques", "Délibérations du conseil municipal", "GOVE"),
    "subventions-roques": ("roques", "Subventions aux associations", "ECON"),
    "budget-sicoval": ("sicoval", "Budget primitif de l'intercommunalité", "ECON"),
    "velos-haute-garonne": ("haute-garonne", "Pistes cyclables", "TRAN"),
}

# Where a page is read from (query.window_for): among the newest datasets as the share
# found says, among a window too small (then gathered), or gathered at once.
WINDOWS = [search_query.window_for, lambda share, limit: 1, lambda share, limit: None]


@pytest.fixture
async def sessions(catalog_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(DatabaseSettings(url=catalog_url))
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker.begin() as session:
        for slug, parent in (
            ("haute-garonne", None),
            ("sicoval", "haute-garonne"),
            ("roques", "sicoval"),
        ):
            session.add(
                Organization(
                    slug=slug,
                    name=slug.title(),
                    kind="commune",
                    parent=parent,
                    token_hash=tokens.hash_token(slug),
                )
            )
            await session.flush()
        for slug, (org, title, theme) in TITLES.items():
            dataset = Dataset(slug=slug, organization=org, title=title)
            session.add(dataset)
            await session.flush()
            await datasets.patch(session, dataset, metadata.DatasetPatch(theme=theme))
    yield sessionmaker
    await engine.dispose()


async def slugs(sessionmaker: async_sessionmaker[AsyncSession], **query: object) -> list[str]:
    async with sessionmaker() as session:
        found = await search.find(session, search.Query(**query))  # type: ignore[arg-type]
        assert found.total == len(found.ids) or found.next_cursor
        return sorted(d.slug for d in await search.load(session, found.ids))


async def test_french_words_ignore_accents_case_and_endings(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert await slugs(sessions, q="délibération") == ["deliberations-roques"]
    assert await slugs(sessions, q="DELIBERATIONS") == ["deliberations-roques"]
    assert await slugs(sessions, q="association") == ["subventions-roques"]
    assert await slugs(sessions, q="cyclable") == ["velos-haute-garonne"]
    assert await slugs(sessions, q="roques") == ["deliberations-roques", "subventions-roques"]
    assert await slugs(sessions, q="introuvable") == []


async def test_filters_and_facets(sessions: async_sessionmaker[AsyncSession]) -> None:
    assert await slugs(sessions, theme="ECON") == ["budget-sicoval", "subventions-roques"]
    # A territory holds the organizations below it: Haute-Garonne > Sicoval > Roques.
    assert len(await slugs(sessions, territory="haute-garonne")) == 4
    assert await slugs(sessions, territory="sicoval") == [
        "budget-sicoval",
        "deliberations-roques",
        "subventions-roques",
    ]
    async with sessions() as session:
        found = await search.find(session, search.Query(q="roques"))
    assert found.facets["theme"] == [{"value": "ECON", "count": 1}, {"value": "GOVE", "count": 1}]
    assert found.facets["organization"] == [{"value": "roques", "count": 2}]


async def test_catalogue_facets_are_the_counts_over_every_dataset(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The whole catalogue's facets come from counts kept by reindex, a search's from its
    matching rows: both agree, and stay exact as datasets change."""

    async def both() -> tuple[search.Results, search.Results]:
        async with sessions() as session:
            everything = await search.find(session, search.Query())
            # Matches every dataset, but through the counting over matches.
            matched = await search.find(session, search.Query(territory="haute-garonne"))
        return everything, matched

    everything, matched = await both()
    assert everything.facets == matched.facets
    assert everything.facets["theme"] == [
        {"value": "ECON", "count": 2},
        {"value": "GOVE", "count": 1},
        {"value": "TRAN", "count": 1},
    ]
    async with sessions.begin() as session:
        dataset = await datasets.get(session, "subventions-roques")
        resource = Resource(dataset_id=dataset.id, key="fichier", title="Fichier")
        session.add(resource)
        await session.flush()
        for number, (media_type, schema_id) in enumerate(
            [("text/csv", "scdl-subventions@2.1.1"), ("application/json", None)], start=1
        ):
            session.add(
                Version(
                    resource_id=resource.id,
                    number=number,
                    upload_id=uuid.uuid4(),
                    object_key="k",
                    sha256="0" * 64,
                    size=1,
                    filename="f",
                    media_type=media_type,
                    schema_id=schema_id,
                    valid=True,
                    report_key="r",
                )
            )
        await session.flush()
        await datasets.patch(session, dataset, metadata.DatasetPatch(theme="GOVE"))
    everything, matched = await both()
    assert everything.facets == matched.facets
    assert everything.facets["theme"][:2] == [
        {"value": "GOVE", "count": 2},
        {"value": "ECON", "count": 1},
    ]
    assert everything.facets["schema"] == [{"value": "scdl-subventions@2.1.1", "count": 1}]
    assert everything.facets["format"] == [
        {"value": "csv", "count": 1},
        {"value": "json", "count": 1},
    ]
    async with sessions() as session:
        found = await search.find(session, search.Query(q="subventions", format="json"))
    assert found.total == 1
    assert found.facets["theme"] == [{"value": "GOVE", "count": 1}]


@pytest.mark.parametrize("window", WINDOWS, ids=["as-found", "too-small", "gathered"])
@pytest.mark.parametrize("sort", ["date", "relevance"])
async def test_cursor_pages_cover_everything_once(
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
    sort: str,
    window: Any,
) -> None:
    monkeypatch.setattr(search_query, "window_for", window)
    seen: list[str] = []
    cursor = None
    async with sessions() as session:
        while True:
            page = await search.find(
                session,
                search.Query(
                    q="" if sort == "date" else "roques", sort=sort, cursor=cursor, limit=1
                ),
            )
            seen += [d.slug for d in await search.load(session, page.ids)]
            cursor = page.next_cursor
            if cursor is None:
                break
    assert len(seen) == len(set(seen))
    assert page.total == len(seen)


def test_markdown_descriptions_are_safe() -> None:
    html = metadata.render("**Gras** <script>alert(1)</script> [lien](javascript:alert(1))")
    assert "<strong>Gras</strong>" in html
    assert "<script>" not in html
    assert 'href="javascript:' not in html  # left as plain text, never a link


ALL = ["budget-sicoval", "deliberations-roques", "subventions-roques", "velos-haute-garonne"]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("⑴", ALL),  # no word left: the same as no text at all
        ("budget ﷺ", ["budget-sicoval"]),
        ("__", ALL),
        ('"', ALL),
        ("-*()", ALL),
        ("NEAR(a b)", []),
        ("a" * 3000, []),
    ],
)
async def test_odd_queries_are_words_not_syntax(
    sessions: async_sessionmaker[AsyncSession], q: str, expected: list[str]
) -> None:
    assert await slugs(sessions, q=q) == expected


async def test_tampered_or_foreign_cursors_are_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        relevance = await search.find(session, search.Query(q="roques", limit=1))
        assert relevance.next_cursor
        with pytest.raises(InvalidCursor) as refused:
            await search.find(session, search.Query(sort="date", cursor=relevance.next_cursor))
        assert "another search" in str(refused.value.__cause__)
        for bad in (
            "pas-un-curseur",
            "W10",
            "eyJzIjogImRhdGUiLCAidiI6ICIyMDI2LTAxLTAxVDAwOjAwOjAwIiwgImlkIjogIjAwIn0",
        ):
            with pytest.raises(InvalidCursor):
                await search.find(session, search.Query(sort="date", cursor=bad))


async def test_schema_filter_takes_no_wildcards(sessions: async_sessionmaker[AsyncSession]) -> None:
    assert await slugs(sessions, schema="%") == []
    assert await slugs(sessions, schema="_cdl-subventions") == []


async def test_datasets_without_search_text_are_indexed_at_start(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        session.add(Dataset(slug="ancien", organization="roques", title="Anciennes archives"))
    assert await slugs(sessions, q="archives") == []
    await search.reindex_stale(sessions)
    assert await slugs(sessions, q="archives") == ["ancien"]


def test_metadata_refuses_nulls_and_odd_contacts() -> None:
    with pytest.raises(ValidationError, match="null"):
        metadata.DatasetPatch(licence=None)
    with pytest.raises(ValidationError, match="contact"):
        metadata.DatasetPatch(contact_point="Mairie de Roques, 05 61 00 00 00")
    assert metadata.DatasetPatch(contact_point="mairie@roques.fr").contact_point
    assert metadata.DatasetPatch(contact_point="https://roques.fr/contact").contact_point


@pytest.mark.parametrize("window", WINDOWS, ids=["as-found", "too-small", "gathered"])
async def test_relevance_puts_title_matches_first_then_the_newest(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch, window: Any
) -> None:
    """Found by title before found elsewhere, the newest first in each; a cursor walks from
    one tier to the next without losing or repeating a dataset; the same wherever a page is
    read from."""
    monkeypatch.setattr(search_query, "window_for", window)
    async with sessions.begin() as session:
        for slug, title, description in (
            ("tarifs-cantine", "Tarifs", "Les tarifs de la cantine scolaire"),
            ("menus-cantine", "Menus de la cantine", ""),
            ("cantines-sicoval", "Cantines du Sicoval", ""),
            ("repas", "Repas servis", "Servis à la cantine"),
        ):
            dataset = Dataset(slug=slug, organization="sicoval", title=title)
            session.add(dataset)
            await session.flush()
            await datasets.patch(session, dataset, metadata.DatasetPatch(description=description))
    seen: list[str] = []
    cursor = None
    async with sessions() as session:
        while True:
            page = await search.find(session, search.Query(q="cantine", cursor=cursor, limit=1))
            seen += [d.slug for d in await search.load(session, page.ids)]
            if (cursor := page.next_cursor) is None:
                break
    assert seen == ["cantines-sicoval", "menus-cantine", "repas", "tarifs-cantine"]
    async with sessions() as session:
        page = await search.find(session, search.Query(q="cantine", limit=3))
        assert [d.slug for d in await search.load(session, page.ids)] == seen[:3]
        page = await search.find(session, search.Query(q="cantine", sort="date", limit=3))
        assert len(page.ids) == 3
        assert page.next_cursor
