"""An upload's status only moves forward, even when its events are applied at the same time."""

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.ingest import progress
from datacommune.ingest.consumers import apply
from datacommune.ingest.tables import Upload
from datacommune.shared import events
from datacommune.shared.bus import NotYet


def an_upload(upload_id: uuid.UUID, sha256: str, **columns: Any) -> Upload:
    """A CSV upload of Roques for ``d``; ``columns`` set the rest (status, release…)."""
    return Upload(
        id=upload_id,
        organization="roques",
        dataset="d",
        filename="f.csv",
        media_type="text/csv",
        size=1,
        sha256=sha256,
        object_key="k",
        variant="",
        **columns,
    )


async def test_concurrent_events_never_move_a_status_back(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ids = [uuid.uuid4() for _ in range(20)]
    async with sessionmaker.begin() as session:
        session.add_all(an_upload(upload_id, f"{i:064d}") for i, upload_id in enumerate(ids))

    async def apply(upload_id: uuid.UUID, status: str) -> None:
        async with sessionmaker.begin() as session:
            await progress.advance(session, upload_id, status)

    await asyncio.gather(*(apply(u, s) for u in ids for s in ("validating", "published", "valid")))
    async with sessionmaker() as session:
        for upload_id in ids:
            upload = await session.get(Upload, upload_id)
            assert upload is not None
            assert upload.status == "published"


async def test_a_publication_waits_for_its_report(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """resource.published (catalog's stream) can overtake file.validated (validate's)."""
    upload_id = uuid.uuid4()
    async with sessionmaker.begin() as session:
        session.add(an_upload(upload_id, "1" * 64))
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


async def test_an_embargoed_publication_told_after_its_release_opened_is_published(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """release.opened (events' stream) can overtake the embargoed resource.published
    (catalog's): the upload must not wait for an opening that already happened."""
    upload_id, release_id = uuid.uuid4(), uuid.uuid4()
    async with sessionmaker.begin() as session:
        session.add(
            an_upload(
                upload_id,
                "2" * 64,
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
