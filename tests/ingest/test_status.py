"""An upload's status only moves forward, even when its events are applied at the same time."""

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from datacommune.ingest import progress
from datacommune.ingest.consumers import apply
from datacommune.ingest.tables import Dataset, Organization, Upload
from datacommune.shared import events
from datacommune.shared.bus import NotYet
from datacommune.shared.db import make_engine, make_sessionmaker
from datacommune.shared.process.migrations import upgrade
from datacommune.shared.settings import DatabaseSettings

MIGRATIONS = (
    Path(__file__).resolve().parents[2] / "services/ingest/src/datacommune/ingest/migrations"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'ingest.db'}"
    return str(request.getfixturevalue("postgres_url"))


async def test_concurrent_events_never_move_a_status_back(database_url: str) -> None:
    await asyncio.to_thread(upgrade, MIGRATIONS, database_url)
    engine = make_engine(DatabaseSettings(url=database_url))
    sessionmaker = make_sessionmaker(engine)
    ids = [uuid.uuid4() for _ in range(20)]
    async with sessionmaker.begin() as session:
        session.add(Organization(slug="roques", name="Roques", token_hash="0" * 64))
        await session.flush()
        session.add(Dataset(slug="d", organization="roques"))
        await session.flush()
        for i, upload_id in enumerate(ids):
            session.add(
                Upload(
                    id=upload_id,
                    organization="roques",
                    dataset="d",
                    filename="f.csv",
                    media_type="text/csv",
                    size=1,
                    sha256=f"{i:064d}",
                    object_key="k",
                    variant="",
                )
            )

    async def apply(upload_id: uuid.UUID, status: str) -> None:
        async with sessionmaker.begin() as session:
            await progress.advance(session, upload_id, status)

    await asyncio.gather(*(apply(u, s) for u in ids for s in ("validating", "published", "valid")))
    async with sessionmaker() as session:
        for upload_id in ids:
            upload = await session.get(Upload, upload_id)
            assert upload is not None
            assert upload.status == "published"
    await engine.dispose()


async def test_a_publication_waits_for_its_report(tmp_path: Path) -> None:
    """resource.published (catalog's stream) can overtake file.validated (validate's)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'order.db'}"
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    engine = make_engine(DatabaseSettings(url=url))
    sessionmaker = make_sessionmaker(engine)
    upload_id = uuid.uuid4()
    async with sessionmaker.begin() as session:
        session.add(Organization(slug="roques", name="Roques", token_hash="0" * 64))
        await session.flush()
        session.add(Dataset(slug="d", organization="roques"))
        await session.flush()
        session.add(
            Upload(
                id=upload_id,
                organization="roques",
                dataset="d",
                filename="f.csv",
                media_type="text/csv",
                size=1,
                sha256="1" * 64,
                object_key="k",
                variant="",
            )
        )
    file = events.FileRef(
        object_key="k", sha256="1" * 64, size=1, filename="f.csv", media_type="text/csv"
    )
    published = events.ResourcePublished(
        source="catalog",
        upload_id=upload_id,
        organization="roques",
        dataset="d",
        resource_id=uuid.uuid4(),
        version_id=uuid.uuid4(),
        download_url="http://x/d",
    )
    with pytest.raises(NotYet):
        async with sessionmaker.begin() as session:
            await apply(session, published)
    async with sessionmaker.begin() as session:
        await apply(
            session,
            events.FileValidated(
                source="validate",
                upload_id=upload_id,
                organization="roques",
                dataset="d",
                file=file,
                valid=True,
                publishable=True,
                report_key="reports/x.json",
                summary=events.ReportSummary(),
            ),
        )
    async with sessionmaker.begin() as session:
        await apply(session, published)
    async with sessionmaker() as session:
        upload = await session.get(Upload, upload_id)
        assert upload is not None
        assert (upload.status, upload.report_key) == ("published", "reports/x.json")
    await engine.dispose()


async def test_an_embargoed_publication_told_after_its_release_opened_is_published(
    tmp_path: Path,
) -> None:
    """release.opened (events' stream) can overtake the embargoed resource.published
    (catalog's): the upload must not wait for an opening that already happened."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'release.db'}"
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    engine = make_engine(DatabaseSettings(url=url))
    sessionmaker = make_sessionmaker(engine)
    upload_id, release_id = uuid.uuid4(), uuid.uuid4()
    async with sessionmaker.begin() as session:
        session.add(Organization(slug="roques", name="Roques", token_hash="0" * 64))
        await session.flush()
        session.add(Dataset(slug="d", organization="roques"))
        await session.flush()
        session.add(
            Upload(
                id=upload_id,
                organization="roques",
                dataset="d",
                filename="f.csv",
                media_type="text/csv",
                size=1,
                sha256="2" * 64,
                object_key="k",
                variant="",
                status="valid",
                report_key="reports/y.json",
                release_id=release_id,
            )
        )
    now = datetime.now(UTC)
    opened = events.ReleaseOpened(
        source="events",
        release_id=release_id,
        organization="roques",
        title="Conseil",
        due_at=now,
        opened_at=now,
    )
    embargoed = events.ResourcePublished(
        source="catalog",
        upload_id=upload_id,
        organization="roques",
        dataset="d",
        resource_id=uuid.uuid4(),
        version_id=uuid.uuid4(),
        download_url="http://x/d",
        public=False,
        release_id=release_id,
    )
    for event in (opened, embargoed):
        async with sessionmaker.begin() as session:
            await apply(session, event)
    async with sessionmaker() as session:
        upload = await session.get(Upload, upload_id)
        assert upload is not None
        assert upload.status == "published"
    await engine.dispose()
