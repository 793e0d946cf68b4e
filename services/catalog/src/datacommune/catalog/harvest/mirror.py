"""Writing what a harvest read into the catalogue: a remote dataset created here, replaced when
its digest changed or left alone; one the source dropped taken out. Duplicates are refused and
logged, never overwritten."""

import uuid
from typing import Literal, Protocol

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.catalog import search
from datacommune.catalog.core.datasets import slugify
from datacommune.catalog.harvest.records import Failure, Remote
from datacommune.catalog.tables import (
    Dataset,
    HarvestRecord,
    RemoteResource,
    Resource,
)
from datacommune.shared.outbox import utcnow


class RunRef(Protocol):
    """What writing a remote dataset needs of its run: which run, of which source, for whom."""

    id: uuid.UUID
    source_id: uuid.UUID
    organization: str


def duplicate(remote: Remote, why: str, why_en: str) -> Failure:
    return Failure(
        remote.remote_id,
        "duplicate",
        f"Doublon, non moissonné : {why}. Rien n'a été écrasé.",
        f"Duplicate, not harvested: {why_en}. Nothing was overwritten.",
    )


def slug_for(organization: str, name: str) -> str:
    """``<organization>-<remote name>``, as slugs are written here."""
    base = slugify(name)
    if not base.startswith(f"{organization}-") and base != organization:
        base = f"{organization}-{base}"
    return base[:100].strip("-")


async def apply(
    session: AsyncSession, run: RunRef, remote: Remote
) -> Literal["created", "updated", "unchanged"] | Failure:
    digest = remote.digest()
    record = await session.get(HarvestRecord, (run.source_id, remote.remote_id))
    if record is not None:
        record.last_seen_run = run.id
        if record.digest == digest:
            return "unchanged"
    twin = await session.scalar(
        select(HarvestRecord).where(
            HarvestRecord.identity == remote.identity,
            or_(
                HarvestRecord.source_id != run.source_id,
                HarvestRecord.remote_id != remote.remote_id,
            ),
        )
    )
    if twin is not None:
        where = (
            "cette même source le liste deux fois"
            if twin.source_id == run.source_id
            else f"une autre source ({twin.source.url}) l'apporte déjà"
        )
        where_en = (
            "this very source lists it twice"
            if twin.source_id == run.source_id
            else f"another source ({twin.source.url}) brings it already"
        )
        return duplicate(remote, f"{remote.identity} — {where}", f"{remote.identity} — {where_en}")
    if record is None:
        slug = slug_for(run.organization, remote.name)
        taken = await session.scalar(select(Dataset).where(Dataset.slug == slug))
        if taken is not None:
            harvested = await session.scalar(
                select(HarvestRecord.remote_id).where(HarvestRecord.dataset_id == taken.id)
            )
            whose = "moissonné d'un autre jeu" if harvested else "publié ici"
            whose_en = "harvested from another dataset" if harvested else "published here"
            return duplicate(
                remote,
                f"l'identifiant « {slug} » est celui d'un jeu de données {whose} "
                f"({taken.organization})",
                f"the identifier {slug!r} is that of a dataset {whose_en} ({taken.organization})",
            )
        dataset = Dataset(id=uuid.uuid4(), slug=slug, organization=run.organization, public=True)
        fill(dataset, remote)
        session.add(dataset)
        await session.flush()
        record = HarvestRecord(source_id=run.source_id, remote_id=remote.remote_id)
        record.dataset_id = dataset.id
        session.add(record)
        outcome: Literal["created", "updated"] = "created"
    else:
        found = await session.get(Dataset, record.dataset_id)
        assert found is not None
        dataset = found
        fill(dataset, remote)
        await session.execute(delete(RemoteResource).where(RemoteResource.dataset_id == dataset.id))
        outcome = "updated"
    record.identity = remote.identity
    record.remote_modified = remote.modified
    record.digest = digest
    record.last_seen_run = run.id
    record.harvested_at = utcnow()
    session.add_all(
        RemoteResource(
            id=uuid.uuid4(),
            dataset_id=dataset.id,
            position=position,
            title=f.title,
            url=f.url,
            format=f.format,
            media_type=f.media_type,
            size=f.size,
        )
        for position, f in enumerate(remote.files)
    )
    await session.flush()
    await search.reindex(session, dataset)
    return outcome


def fill(dataset: Dataset, remote: Remote) -> None:
    """The dataset's metadata as the source gives it: an update replaces all of it."""
    dataset.title = remote.title
    dataset.description = remote.description
    dataset.keywords = remote.keywords
    dataset.theme = remote.theme
    dataset.licence = remote.licence
    dataset.spatial = remote.spatial or None
    dataset.temporal_start = remote.temporal_start
    dataset.temporal_end = remote.temporal_end
    dataset.public = True
    dataset.updated_at = remote.modified or utcnow()


async def remove(session: AsyncSession, record: HarvestRecord) -> None:
    """Take a harvested dataset out of the catalogue. One that was also published to here
    (an upload to its slug) stays, as a dataset of its own, without its remote files."""
    dataset = await session.get(Dataset, record.dataset_id)
    await session.execute(
        delete(RemoteResource).where(RemoteResource.dataset_id == record.dataset_id)
    )
    await session.delete(record)
    await session.flush()
    if dataset is None:
        return
    uploaded = await session.scalar(
        select(func.count()).select_from(Resource).where(Resource.dataset_id == dataset.id)
    )
    if uploaded:
        await search.reindex(session, dataset)
        return
    # Not public any more: reindex takes it out of the facet counts and the full-text index.
    dataset.public = False
    await search.reindex(session, dataset)
    await session.flush()
    await session.delete(dataset)
