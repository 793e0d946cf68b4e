"""The embargo where a dataset is already public: an embargoed version of it must not show
through search words, schema or format filters, facet counts, the modified date, version
numbers, nor the dataset's title. (tests/e2e/test_releases.py covers every read path over HTTP.)"""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.catalog import search
from datacommune.catalog.core import datasets, visibility
from datacommune.catalog.tables import Organization
from datacommune.shared import events, tokens
from datacommune.shared.db import make_engine, make_sessionmaker
from datacommune.shared.settings import DatabaseSettings

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def sessions(catalog_url: str) -> AsyncIterator[Sessions]:
    engine = make_engine(DatabaseSettings(url=catalog_url))
    maker = make_sessionmaker(engine)
    async with maker.begin() as session:
        session.add(
            Organization(
                slug="roques", name="Roques", kind="commune", token_hash=tokens.hash_token("r")
            )
        )
    yield maker
    await engine.dispose()


async def publish(
    sessions: Sessions,
    dataset: str,
    title: str,
    *,
    release: uuid.UUID | None = None,
    schema: str | None = None,
    media_type: str = "text/csv",
) -> None:
    event = events.FileValidated(
        source="test",
        upload_id=uuid.uuid4(),
        organization="roques",
        dataset=dataset,
        title=title,
        schema_id=schema,
        file=events.FileRef(
            object_key=f"files/{uuid.uuid4()}",
            sha256=uuid.uuid4().hex * 2,
            size=10,
            filename=f"{title}.csv",
            media_type=media_type,
        ),
        valid=True,
        publishable=True,
        report_key="reports/x.json",
        summary=events.ReportSummary(),
        release_id=release,
    )
    async with sessions.begin() as session:
        await datasets.publish(session, event, source="test", public_url="http://x")


async def found(sessions: Sessions, **query: object) -> list[str]:
    async with sessions() as session:
        results = await search.find(session, search.Query(**query))  # type: ignore[arg-type]
        return [d.slug for d in await search.load(session, results.ids)]


async def facets(sessions: Sessions) -> dict[str, list[str]]:
    async with sessions() as session:
        results = await search.find(session, search.Query())
        return {k: [v["value"] for v in vs] for k, vs in results.facets.items()}


def opened(
    release: uuid.UUID, when: datetime = datetime(2020, 1, 1, tzinfo=UTC)
) -> events.ReleaseOpened:
    """The release's opening, as events announces it."""
    return events.ReleaseOpened(
        source="test",
        release_id=release,
        organization="roques",
        title="Conseil",
        due_at=when,
        opened_at=when,
    )


async def test_an_embargoed_version_of_a_public_dataset_shows_nothing(sessions: Sessions) -> None:
    release = uuid.uuid4()
    # First a secret file makes the dataset, then a public one makes it public.
    await publish(sessions, "budget", "Fermeture de l'école Jules Ferry", release=release)
    await publish(sessions, "budget", "Horaires")
    async with sessions() as session:
        dataset = await datasets.get(session, "budget")
        before = dataset.updated_at
        assert dataset.title == "Horaires"
        assert [r.title for r in dataset.resources] == ["Horaires"]
    await publish(
        sessions,
        "budget",
        "Délibérations secrètes",
        release=release,
        schema="scdl-deliberations@2.1.0",
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    await publish(sessions, "budget", "Horaires")  # a second public version of the same file
    assert await found(sessions, q="fermeture ecole") == []
    assert await found(sessions, q="deliberations") == []
    assert await found(sessions, schema="scdl-deliberations") == []
    assert await found(sessions, format="xlsx") == []
    shown = await facets(sessions)
    assert "xlsx" not in shown.get("format", [])
    assert shown.get("schema", []) == []
    async with sessions() as session:
        dataset = await datasets.get(session, "budget")
        assert dataset.updated_at >= before
        numbers = [v.number for r in dataset.resources for v in r.versions]
        assert numbers == [1, 2]  # no gap betraying a hidden version
        # The search API's summary (read with Core) counts the public file only.
        [summary] = await datasets.summaries(session, [dataset.id], "http://x")
        assert summary["resources_count"] == 1
        assert summary == datasets.describe(dataset, "http://x", full=False)

    # It opens: everything shows, numbered after what was public.
    async with sessions.begin() as session:
        await visibility.record_opening(session, opened(release))
        for changed in await visibility.apply_due(session, public_url="http://x"):
            await search.reindex(session, changed)
    assert await found(sessions, schema="scdl-deliberations") == ["budget"]
    assert await found(sessions, q="fermeture ecole") == []  # a resource title, not the dataset's
    async with sessions() as session:
        dataset = await datasets.get(session, "budget")
        assert sorted(r.title for r in dataset.resources) == [
            "Délibérations secrètes",
            "Fermeture de l'école Jules Ferry",
            "Horaires",
        ]
        assert all(v.number > 0 for r in dataset.resources for v in r.versions)


async def test_a_dataset_made_by_a_release_takes_its_title_when_it_opens(
    sessions: Sessions,
) -> None:
    release = uuid.uuid4()
    await publish(sessions, "budget-2027", "Budget primitif 2027", release=release)
    async with sessions() as session:
        with pytest.raises(Exception, match="No dataset"):
            await datasets.get(session, "budget-2027")
        owner_view = await datasets.get(session, "budget-2027", owner="roques")
        assert owner_view.title == "budget-2027"
    async with sessions.begin() as session:
        await visibility.record_opening(session, opened(release))
        await visibility.apply_due(session, public_url="http://x")
    async with sessions() as session:
        assert (await datasets.get(session, "budget-2027")).title == "Budget primitif 2027"


async def test_an_opening_told_early_waits_for_its_time_by_this_clock(sessions: Sessions) -> None:
    """events' scheduler may run ahead of catalog's clock: what it opened is applied here only
    once ``due_at`` has come by catalog's own clock."""
    release = uuid.uuid4()
    await publish(sessions, "budget-2027", "Budget primitif 2027", release=release)
    due = datetime(2027, 3, 1, 18, 0, tzinfo=UTC)
    async with sessions.begin() as session:
        await visibility.record_opening(session, opened(release, due))
    for now, expected in ((due - timedelta(seconds=1), []), (due, ["budget-2027"])):
        async with sessions.begin() as session:
            changed = await visibility.apply_due(session, public_url="http://x", now=now)
            assert [d.slug for d in changed] == expected
