"""Which pools a change touches, and which version of a file each pool should hold.

The core's hooks call ``on_opened`` and ``on_changed`` inside the transaction that made a
version public or changed a dataset: the work they record (``PoolChange``) commits with that
change or not at all, and the pooler does it later, once (see worker.py).
"""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload

from datacommune.catalog.access.organizations import territory_members
from datacommune.catalog.core.hooks import Opened
from datacommune.catalog.tables import (
    Dataset,
    Organization,
    Pool,
    PoolChange,
    PoolSource,
    Resource,
    RowTable,
    Version,
)
from datacommune.shared import events


@dataclass(frozen=True)
class SchemaRef:
    """A schema id cut into what pools it: its name, its major version, its full version."""

    name: str
    major: int
    version: tuple[int, ...]

    @classmethod
    def parse(cls, schema_id: str | None) -> "SchemaRef | None":
        if not schema_id or "@" not in schema_id:
            return None
        name, _, version = schema_id.partition("@")
        numbers = tuple(int(p) if p.isdigit() else 0 for p in version.split("."))
        return cls(name=name, major=numbers[0] if numbers else 0, version=numbers)


@dataclass(frozen=True)
class Member:
    """The version of a file a pool should hold, and how to read it."""

    version: Version
    dataset: Dataset
    organization: Organization
    shape: events.TableShape
    schema: SchemaRef


async def on_opened(session: AsyncSession, opened: Opened) -> None:
    """Versions became public: each may enter, replace its file's rows in, or leave a pool."""
    for resource, version in opened.versions:
        await note(session, opened.dataset, resource.id, version)


async def on_changed(session: AsyncSession, dataset: Dataset) -> None:
    """A dataset changed; one no longer public takes its files out of every pool."""
    if dataset.public:
        return
    held = await session.scalars(
        select(PoolSource.resource_id)
        .join(Resource, Resource.id == PoolSource.resource_id)
        .where(Resource.dataset_id == dataset.id)
    )
    for resource_id in set(held):
        await note(session, dataset, resource_id, None)


async def on_moved(session: AsyncSession, organization: str, before: str | None) -> None:
    """An organization moved in the tree: each file of it and of the organizations below it
    may leave its old territories' pools and enter its new ones'; so may the files of its old
    and new parents, which may have become, or stopped being, territories of their own."""
    org = await session.get(Organization, organization)
    members = await territory_members(session, organization)
    members |= {p for p in (before, org.parent if org else None) if p is not None}
    latest = (
        select(Version.resource_id, func.max(Version.number).label("number"))
        .where(Version.public.is_(True))
        .group_by(Version.resource_id)
        .subquery()
    )
    found = await session.execute(
        select(Dataset, Resource.id, Version)
        .join(Resource, Resource.dataset_id == Dataset.id)
        .join(latest, latest.c.resource_id == Resource.id)
        .join(
            Version,
            (Version.resource_id == Resource.id) & (Version.number == latest.c.number),
        )
        .where(Dataset.organization.in_(members), Resource.public.is_(True))
    )
    for dataset, resource_id, version in found.all():
        await note(session, dataset, resource_id, version)


async def note(
    session: AsyncSession, dataset: Dataset, resource_id: uuid.UUID, version: Version | None
) -> None:
    """Record work for every pool the file is in and every pool its new version may enter."""
    if await is_pooled_dataset(session, dataset.id):
        return
    pools = set(
        await session.scalars(
            select(PoolSource.pool_id).where(PoolSource.resource_id == resource_id)
        )
    )
    schema = SchemaRef.parse(version.schema_id) if version is not None else None
    if version is not None and version.valid and schema is not None:
        for territory in await territories(session, dataset.organization):
            pools.add(await pool_for(session, territory, schema))
    for pool_id in pools:
        session.add(PoolChange(pool_id=pool_id, resource_id=resource_id))
    await session.flush()


async def is_pooled_dataset(session: AsyncSession, dataset_id: uuid.UUID) -> bool:
    """Whether a dataset is a consolidation (never itself a source: pools do not nest)."""
    return await session.scalar(select(Pool.id).where(Pool.dataset_id == dataset_id)) is not None


async def territories(session: AsyncSession, organization: str) -> list[str]:
    """The territories an organization's data pools into: every organization above it, and
    itself when organizations sit below it (an EPCI's own files count for the EPCI)."""
    found = []
    below = await session.scalar(
        select(Organization.slug).where(Organization.parent == organization).limit(1)
    )
    if below is not None:
        found.append(organization)
    seen = {organization}
    org = await session.get(Organization, organization)
    while org is not None and org.parent and org.parent not in seen:
        found.append(org.parent)
        seen.add(org.parent)
        org = await session.get(Organization, org.parent)
    return found


async def pool_for(session: AsyncSession, territory: str, schema: SchemaRef) -> uuid.UUID:
    """The pool of a territory and schema major, made if it is the first (two transactions
    making it at once make one: the second's insert does nothing)."""
    existing = await _pool_id(session, territory, schema)
    if existing is not None:
        return existing
    base = f"{territory}--{schema.name}"[:100]
    taken = await session.scalar(select(Pool.id).where(Pool.slug == base))
    slug = base if taken is None else f"{base[:95]}--v{schema.major}"
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    await session.execute(
        dialect.insert(Pool)
        .values(
            id=uuid.uuid4(),
            territory=territory,
            schema=schema.name,
            major=schema.major,
            slug=slug,
            fields=[],
            primary_key=[],
            number=0,
        )
        .on_conflict_do_nothing()
    )
    made = await _pool_id(session, territory, schema)
    assert made is not None
    return made


async def _pool_id(session: AsyncSession, territory: str, schema: SchemaRef) -> uuid.UUID | None:
    return await session.scalar(
        select(Pool.id).where(
            Pool.territory == territory, Pool.schema == schema.name, Pool.major == schema.major
        )
    )


async def members(
    session: AsyncSession, pool: Pool, resource_ids: set[uuid.UUID]
) -> dict[uuid.UUID, Member | None]:
    """The version of each file the pool holds now: its latest public version, if that
    version conforms to the pool's schema major, is a table, and its organization is in the
    territory; else None (the file leaves, or never enters). A few queries for all the files
    of an update, not a few per file: under a burst each round trip waits its turn."""
    found: dict[uuid.UUID, Member | None] = dict.fromkeys(resource_ids)
    if not resource_ids:
        return found
    latest = (
        select(Version.resource_id, func.max(Version.number).label("number"))
        .where(Version.resource_id.in_(resource_ids), Version.public.is_(True))
        .group_by(Version.resource_id)
        .subquery()
    )
    rows = (
        await session.execute(
            select(Version, Dataset, Organization)
            .join(
                latest,
                (latest.c.resource_id == Version.resource_id) & (latest.c.number == Version.number),
            )
            .join(Resource, Resource.id == Version.resource_id)
            .join(Dataset, Dataset.id == Resource.dataset_id)
            .join(Organization, Organization.slug == Dataset.organization)
            .where(Resource.public.is_(True), Dataset.public.is_(True))
            # Their columns only: a dataset's files and versions, loaded with it elsewhere,
            # would cost a dozen queries a file here.
            .options(lazyload("*"))
        )
    ).all()
    candidates = []
    places: dict[str, bool] = {}
    for version, dataset, organization in rows:
        schema = SchemaRef.parse(version.schema_id)
        if (
            not version.valid
            or schema is None
            or (schema.name, schema.major) != (pool.schema, pool.major)
        ):
            continue
        if organization.slug not in places:
            places[organization.slug] = pool.territory in await territories(
                session, organization.slug
            )
        if places[organization.slug]:
            candidates.append((version, dataset, organization, schema))
    shapes: dict[uuid.UUID, dict[str, Any]] = dict(
        (
            await session.execute(
                select(RowTable.version_id, RowTable.shape).where(
                    RowTable.version_id.in_([version.id for version, *_ in candidates])
                )
            )
        ).all()
    )
    for version, dataset, organization, schema in candidates:
        shape = shapes.get(version.id)
        if shape is not None:
            table = events.TableShape.model_validate(shape)
            found[version.resource_id] = Member(version, dataset, organization, table, schema)
    return found
