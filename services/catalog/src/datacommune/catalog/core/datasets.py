"""Datasets, resources and versions: publish a validated file, and read the catalogue."""

import posixpath
import re
import unicodedata
import uuid
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, raiseload

from datacommune.catalog import problems
from datacommune.catalog.core import metadata, visibility
from datacommune.catalog.core.hooks import HOOKS, Opened
from datacommune.catalog.tables import (
    Dataset,
    HarvestRecord,
    HarvestSource,
    Organization,
    Outbox,
    Pool,
    RemoteResource,
    Resource,
    RowTable,
    Version,
)
from datacommune.shared import events
from datacommune.shared.outbox import enqueue, utcnow


def slugify(text: str) -> str:
    """Lower-case ASCII words joined by dashes: « Subventions 2024 » → ``subventions-2024``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:200] or "fichier"


def resource_key(event: events.FileValidated) -> tuple[str, str]:
    """Which resource an upload is a version of: its title, else its file name without extension.

    Posting « subventions-2024.csv » again makes a new version of the same resource; posting
    « subventions-2025.csv » makes a second resource of the dataset.
    """
    if event.title:
        return slugify(event.title), event.title
    base = posixpath.basename(event.file.filename.replace("\\", "/"))
    stem = posixpath.splitext(base)[0] or base
    return slugify(stem), stem


# Shown in the browser as text rather than saved (core/downloads.py): only for text files.
VIEW = "inline=true"


def download_path(version_id: uuid.UUID) -> str:
    """Where a version's bytes are served."""
    return f"/api/v1/versions/{version_id}/download"


async def publish(
    session: AsyncSession, event: events.FileValidated, *, source: str, public_url: str
) -> None:
    """Make a validated file a new version of its resource, or refuse it; idempotent.

    The dataset is created on its first publishable upload and belongs to that organization.
    """
    if await session.scalar(select(Version.id).where(Version.upload_id == event.upload_id)):
        return
    if not event.publishable:
        return
    org = await session.get(Organization, event.organization)
    # Without the public files the dataset's readers load with it (all their versions, a few
    # statements more every file): publishing reads none of them, and must not.
    dataset = await session.scalar(
        select(Dataset).where(Dataset.slug == event.dataset).options(raiseload("*"))
    )
    if org is None or (dataset is not None and dataset.organization != event.organization):
        reason = "unknown-organization" if org is None else "dataset-of-another-organization"
        enqueue(session, Outbox, _rejection(event, reason, source))
        return
    if dataset is not None and await session.scalar(
        select(Pool.id).where(Pool.dataset_id == dataset.id)
    ):
        # Pooled data is made by the platform from the territory's files, never uploaded to.
        enqueue(session, Outbox, _rejection(event, "dataset-pooled", source))
        return
    public = await visibility.opens_now(session, event.release_id, org.slug)
    if dataset is None:
        dataset = Dataset(
            slug=event.dataset,
            organization=org.slug,
            # An embargoed upload does not name the dataset: its title would show as soon as
            # another file makes the dataset public (it gets its title when it opens).
            title=(event.title or event.dataset) if public else event.dataset,
            public=False,
        )
        session.add(dataset)
        await session.flush()
    key, title = resource_key(event)
    resource = await session.scalar(
        select(Resource)
        .where(Resource.dataset_id == dataset.id, Resource.key == key)
        .options(raiseload("*"))
    )
    if resource is None:
        resource = Resource(dataset_id=dataset.id, key=key, title=title, public=public)
        session.add(resource)
        await session.flush()
    # An embargoed version gets a provisional negative number and its public one when it
    # opens, so the public numbers have no gap that would betray it.
    now = utcnow()
    if public:
        number = await visibility.next_number(session, resource.id)
    else:
        lowest = await session.scalar(
            select(func.min(Version.number)).where(Version.resource_id == resource.id)
        )
        number = min(lowest or 0, 0) - 1
    version = Version(
        id=uuid.uuid4(),
        resource_id=resource.id,
        number=number,
        upload_id=event.upload_id,
        object_key=event.file.object_key,
        sha256=event.file.sha256,
        size=event.file.size,
        filename=event.file.filename,
        media_type=event.file.media_type,
        charset=event.file.charset,
        schema_id=event.schema_id,
        schema_url=event.schema_url,
        valid=event.valid,
        unchecked=event.unchecked or None,
        report_key=event.report_key,
        changes_key=event.changes_key,
        # Public at once if nothing holds it (inserted so, not updated after).
        public=public,
        public_at=now if public else None,
        release_id=event.release_id,
        uploaded_by=event.uploaded_by,
        token_id=event.token_id,
        **(
            {
                "original_object_key": event.original.object_key,
                "original_sha256": event.original.sha256,
                "original_size": event.original.size,
                "original_filename": event.original.filename,
                "original_media_type": event.original.media_type,
                "original_charset": event.original.charset,
            }
            if event.original
            else {}
        ),
    )
    session.add(version)
    await session.flush()
    if public:
        await visibility.make_public(session, dataset, resource, version, now)
    if event.table is not None:
        # The shape the rows will be read with; the row loader takes it from here.
        session.add(
            RowTable(version_id=version.id, status="pending", shape=event.table.model_dump())
        )
    if public:
        await HOOKS.dataset_opened(
            session, Opened(dataset, [(resource, version)], release=None, public_url=public_url)
        )
    await session.flush()
    await HOOKS.dataset_changed(session, dataset)
    enqueue(
        session,
        Outbox,
        events.ResourcePublished(
            source=source,
            upload_id=event.upload_id,
            organization=org.slug,
            dataset=dataset.slug,
            resource_id=resource.id,
            version_id=version.id,
            download_url=public_url + download_path(version.id),
            public=public,
            release_id=event.release_id,
        ),
    )


def _rejection(event: events.FileValidated, reason: str, source: str) -> events.UploadRejected:
    if reason == "unknown-organization":
        fr = f"L'organisation « {event.organization} » n'est pas inscrite au catalogue."
        en = f"The organization {event.organization!r} is not registered in the catalogue."
    elif reason == "dataset-pooled":
        fr = (
            f"« {event.dataset} » est un jeu de données mutualisées : la plateforme le tient à "
            "jour avec les fichiers du territoire. Publiez votre fichier dans un jeu à vous, il "
            "y entrera s'il est conforme au schéma."
        )
        en = (
            f"{event.dataset!r} is pooled data: the platform keeps it current from the "
            "territory's files. Publish your file in a dataset of your own; it will enter if it "
            "conforms to the schema."
        )
    else:
        fr = f"Le jeu de données « {event.dataset} » appartient à une autre organisation."
        en = f"The dataset {event.dataset!r} belongs to another organization."
    return events.UploadRejected(
        source=source,
        upload_id=event.upload_id,
        organization=event.organization,
        dataset=event.dataset,
        reason=reason,
        detail=fr,
        detail_en=en,
    )


async def get(session: AsyncSession, slug: str, *, owner: str | None = None) -> Dataset:
    """One public dataset with its public resources and versions; a 404 problem if unknown or
    not public yet — except to its ``owner`` (who may describe it before its release)."""
    dataset = await session.scalar(select(Dataset).where(Dataset.slug == slug))
    if dataset is None or not (dataset.public or dataset.organization == owner):
        raise problems.dataset_not_found(slug)
    return dataset


async def get_version(session: AsyncSession, version_id: uuid.UUID) -> Version:
    """One public version; a 404 problem if unknown or embargoed (the same answer: an
    embargoed version's existence is not told either)."""
    # One statement with its row table (the relationship alone would read it in a second).
    version = await session.scalar(
        select(Version).where(Version.id == version_id).options(joinedload(Version.row_table))
    )
    if version is None or not version.public:
        raise problems.version_not_found()
    return version


def describe_version(version: Version, public_url: str) -> dict[str, Any]:
    """The public view of a version, with its download link (and the original's, if repaired)."""
    repaired = None
    if version.original_object_key:
        base = f"{public_url}/api/v1/versions/{version.id}"
        repaired = {
            "original_filename": version.original_filename,
            "original_sha256": version.original_sha256,
            "original_download_url": f"{base}/original",
            "original_view_url": f"{base}/original?{VIEW}" if version.original_charset else None,
            "changes_url": f"{base}/changes",
        }
    return {
        "repaired": repaired,
        "id": str(version.id),
        "number": version.number,
        "filename": version.filename,
        "media_type": version.media_type,
        "size": version.size,
        "sha256": version.sha256,
        "schema": version.schema_id,
        "valid": version.valid,
        "unchecked": version.unchecked or [],
        "published_at": version.published_at.isoformat(),
        # The organization that published it for the dataset's own, if another (an EPCI).
        "uploaded_by": version.uploaded_by,
        "download_url": public_url + download_path(version.id),
        "view_url": f"{public_url}{download_path(version.id)}?{VIEW}" if version.charset else None,
        **HOOKS.version_view(version, public_url),
    }


def describe(dataset: Dataset, public_url: str, *, full: bool) -> dict[str, Any]:
    """The public view of a dataset; ``full`` adds its resources and every version."""
    record = dataset.harvest
    body = _summary(
        dataset,
        public_url,
        len(dataset.resources) + len(dataset.remote_resources),
        None if record is None else _harvested(record, record.source),
    )
    if full:
        body["conforms_to"] = sorted(
            {v.schema_id for r in dataset.resources for v in r.versions if v.schema_id}
        )
        body["resources"] = []
        for resource in dataset.resources:
            versions = [describe_version(v, public_url) for v in resource.versions]
            latest = versions[-1] if versions else None
            body["resources"].append(
                {
                    "id": str(resource.id),
                    "key": resource.key,
                    "title": resource.title,
                    "download_url": latest["download_url"] if latest else None,
                    # Always the newest version; each version's own URL never changes.
                    "latest_url": f"{body['url']}/resources/{resource.key}/latest",
                    "latest": latest,
                    "versions": versions,
                }
            )
        body["resources"] += [describe_remote(r) for r in dataset.remote_resources]
    return body


# What a listing reads of a dataset: not its search words.
_LISTED = [
    c
    for c in Dataset.__table__.c
    if c.name not in ("search_text", "title_words", "facet_values", "public")
]


async def summaries(
    session: AsyncSession, ids: list[uuid.UUID], public_url: str
) -> list[dict[str, Any]]:
    """The summaries (``describe(full=False)``) of these datasets, in this order, in one
    statement: a search page reads 20 rows, not 20 datasets with their resources, remote files
    and harvest records (a third of a search request's time when they were loaded as objects)."""
    table = Dataset.__table__
    local = select(func.count()).where(Resource.dataset_id == table.c.id, Resource.public.is_(True))
    remote = select(func.count()).where(RemoteResource.dataset_id == table.c.id)
    rows = await session.execute(
        select(
            *_LISTED,
            (local.scalar_subquery() + remote.scalar_subquery()).label("resources_count"),
            HarvestRecord.source_id,
            HarvestRecord.remote_id,
            HarvestRecord.identity,
            HarvestRecord.remote_modified,
            HarvestRecord.harvested_at,
            HarvestSource.kind,
            HarvestSource.url,
        )
        .select_from(
            table.outerjoin(HarvestRecord, HarvestRecord.dataset_id == table.c.id).outerjoin(
                HarvestSource, HarvestSource.id == HarvestRecord.source_id
            )
        )
        .where(table.c.id.in_(ids))
    )
    by_id = {row.id: row for row in rows}
    return [
        _summary(
            row,
            public_url,
            row.resources_count,
            None if row.source_id is None else _harvested(row, row),
        )
        for row in (by_id[i] for i in ids if i in by_id)
    ]


def _summary(
    dataset: Dataset | Row[*tuple[Any, ...]],
    public_url: str,
    resources_count: int,
    harvested: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "slug": dataset.slug,
        "title": dataset.title,
        "organization": dataset.organization,
        **metadata.describe(dataset),
        "created_at": dataset.created_at.isoformat(),
        "updated_at": dataset.updated_at.isoformat(),
        "url": f"{public_url}/api/v1/datasets/{dataset.slug}",
        "resources_count": resources_count,
        "harvested_from": harvested,
    }


def _harvested(
    record: HarvestRecord | Row[*tuple[Any, ...]], source: HarvestSource | Row[*tuple[Any, ...]]
) -> dict[str, Any]:
    """Where a harvested dataset comes from."""
    return {
        "source": str(record.source_id),
        "kind": source.kind,
        "url": source.url,
        "remote_id": record.remote_id,
        "remote_url": record.identity,
        "remote_modified": record.remote_modified.isoformat() if record.remote_modified else None,
        "harvested_at": record.harvested_at.isoformat(),
    }


def describe_remote(resource: RemoteResource) -> dict[str, Any]:
    """A harvested file: a link to where its source serves it; no version is kept here."""
    return {
        "id": str(resource.id),
        "key": None,
        "title": resource.title,
        "remote": True,
        "format": resource.format,
        "media_type": resource.media_type,
        "size": resource.size,
        "download_url": resource.url,
        "latest_url": None,
        "latest": None,
        "versions": [],
    }


async def patch(session: AsyncSession, dataset: Dataset, changes: metadata.DatasetPatch) -> Dataset:
    """Change a dataset's metadata and its search words; its modification time moves, so
    that incremental harvests (CKAN's ``metadata_modified``, DCAT's ``dct:modified``) see it."""
    if metadata.apply(dataset, changes):
        dataset.updated_at = utcnow()
    await session.flush()
    await HOOKS.dataset_changed(session, dataset)
    return dataset


async def withdraw(session: AsyncSession, dataset: Dataset) -> None:
    """Take a dataset out of the catalogue: no longer listed, searched, harvested or pooled.
    Its versions stay at their permanent addresses (a reuser's copy, a pooled version, cite
    them); publishing to it again brings it back."""
    dataset.public = False
    dataset.updated_at = utcnow()
    await session.flush()
    await HOOKS.dataset_changed(session, dataset)


def history(dataset: Dataset, public_url: str) -> list[dict[str, Any]]:
    """Every version of every resource, newest first: nothing is ever overwritten."""
    entries = [
        {"resource": resource.key, **describe_version(version, public_url)}
        for resource in dataset.resources
        for version in resource.versions
    ]
    return sorted(entries, key=lambda e: e["published_at"], reverse=True)


def latest(dataset: Dataset, resource_key: str) -> Version:
    """The newest version of a resource; a 404 problem if there is none."""
    for resource in dataset.resources:
        if resource.key == resource_key and resource.versions:
            return resource.versions[-1]
    raise problems.version_not_found()
