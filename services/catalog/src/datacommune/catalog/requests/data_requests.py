"""Data requests: a reuser asks for data a territory lacks, others vote; and who publishes what.

A vote is kept as the hash of an opaque voter key the client chooses (a browser keeps one), so
one client counts once and nothing says who it is.
"""

import hashlib
import uuid
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.catalog import problems
from datacommune.catalog.access.organizations import territory_members
from datacommune.catalog.tables import (
    DataRequest,
    Dataset,
    Organization,
    Pool,
    Resource,
    Version,
    Vote,
)
from datacommune.shared.fields import Line, OrganizationSlug, Text


class RequestIn(BaseModel):
    """What a reuser asks for."""

    title: Line = Field(min_length=3, max_length=300, examples=["Les délibérations de Roques"])
    description: Text = Field(default="", max_length=5000)
    territory: OrganizationSlug | None = Field(default=None, examples=["roques"])
    schema_id: Line | None = Field(default=None, max_length=200, examples=["scdl-deliberations"])


class VoteIn(BaseModel):
    """An opaque key the voter's client keeps; only its hash is stored."""

    voter: Line = Field(min_length=8, max_length=200)


def describe(request: DataRequest, votes: int) -> dict[str, Any]:
    return {
        "id": str(request.id),
        "title": request.title,
        "description": request.description,
        "territory": request.territory,
        "schema": request.schema_id,
        "votes": votes,
        "created_at": request.created_at.isoformat(),
    }


async def create(session: AsyncSession, data: RequestIn) -> DataRequest:
    """Record a request; its territory must be a known organization."""
    if data.territory and await session.get(Organization, data.territory) is None:
        raise problems.organization_not_found(data.territory)
    request = DataRequest(
        id=uuid.uuid4(),
        title=data.title,
        description=data.description,
        territory=data.territory,
        schema_id=data.schema_id,
    )
    session.add(request)
    await session.flush()
    return request


async def vote(
    sessionmaker: async_sessionmaker[AsyncSession], request_id: uuid.UUID, voter: str
) -> tuple[int, bool]:
    """Count a client's vote once; returns the votes and whether this one was new."""
    key = hashlib.sha256(f"{request_id}:{voter}".encode()).hexdigest()
    created = True
    try:
        async with sessionmaker.begin() as session:
            if await session.get(DataRequest, request_id) is None:
                raise problems.request_not_found()
            session.add(Vote(request_id=request_id, voter_hash=key))
    except IntegrityError:
        created = False
    async with sessionmaker() as session:
        total = await session.scalar(
            select(func.count()).select_from(Vote).where(Vote.request_id == request_id)
        )
    return int(total or 0), created


async def ranked(session: AsyncSession, territory: str | None) -> list[dict[str, Any]]:
    """Requests by votes, most wanted first; a territory includes the organizations below it."""
    votes = (
        select(Vote.request_id, func.count().label("votes")).group_by(Vote.request_id).subquery()
    )
    query = select(DataRequest, func.coalesce(votes.c.votes, 0)).outerjoin(
        votes, votes.c.request_id == DataRequest.id
    )
    if territory:
        query = query.where(DataRequest.territory.in_(await territory_members(session, territory)))
    rows = await session.execute(
        query.order_by(func.coalesce(votes.c.votes, 0).desc(), DataRequest.created_at)
    )
    return [describe(request, int(n)) for request, n in rows.all()]


async def coverage(session: AsyncSession, territory: str | None) -> dict[str, Any]:
    """Organizations × standard schemas: which datasets each publishes, where it has none."""
    orgs_query = select(Organization).order_by(Organization.slug)
    if territory:
        orgs_query = orgs_query.where(
            Organization.slug.in_(await territory_members(session, territory))
        )
    orgs = (await session.scalars(orgs_query)).all()
    rows = await session.execute(
        select(Dataset.organization, Version.schema_id, Dataset.slug)
        .join(Resource, Resource.dataset_id == Dataset.id)
        .join(Version, Version.resource_id == Resource.id)
        .where(
            Version.schema_id.is_not(None),
            Version.public,
            # A pooled dataset is the territory's consolidation, not one of its files.
            Dataset.id.not_in(select(Pool.dataset_id).where(Pool.dataset_id.is_not(None))),
        )
        .distinct()
    )
    published: dict[str, dict[str, set[str]]] = {}
    schemas: set[str] = set()
    for org, schema_id, slug in rows.all():
        name = str(schema_id).split("@")[0]
        schemas.add(name)
        published.setdefault(org, {}).setdefault(name, set()).add(slug)
    columns = sorted(schemas)
    pools: dict[str, list[str]] = {}
    if territory:
        for schema, slug in await session.execute(
            select(Pool.schema, Pool.slug)
            .where(Pool.territory == territory, Pool.dataset_id.is_not(None))
            .order_by(Pool.major)
        ):
            pools.setdefault(schema, []).append(slug)
    return {
        "schemas": columns,
        "pools": {s: pools.get(s, []) for s in columns},
        "organizations": [
            {
                "slug": org.slug,
                "name": org.name,
                "kind": org.kind,
                "publishes": {
                    s: sorted(published.get(org.slug, {}).get(s, set())) for s in columns
                },
                "lacks": [s for s in columns if s not in published.get(org.slug, {})],
            }
            for org in orgs
        ],
    }
