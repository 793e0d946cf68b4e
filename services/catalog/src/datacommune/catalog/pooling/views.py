"""How a pool reads in the API: its columns, sources, contributors, conflicts and versions."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.catalog.access import organizations
from datacommune.catalog.core.datasets import download_path
from datacommune.catalog.pooling import pooled_rows
from datacommune.catalog.tables import Pool, PoolSource, PoolVersion


def describe(pool: Pool, public_url: str) -> dict[str, Any]:
    return {
        "slug": pool.slug,
        # The consolidated dataset bears the pool's slug; it exists from the first version.
        "url": f"{public_url}/api/v1/datasets/{pool.slug}" if pool.dataset_id else None,
        "territory": pool.territory,
        "schema": pool.schema,
        "major": pool.major,
        "schema_id": pool.schema_id,
        "columns": [f["name"] for f in pool.fields] + list(pooled_rows.PROVENANCE),
        "primary_key": pool.primary_key,
        "number": pool.number,
    }


async def detail(session: AsyncSession, pool: Pool, public_url: str) -> dict[str, Any]:
    sources = (
        await session.scalars(
            select(PoolSource)
            .where(PoolSource.pool_id == pool.id)
            .order_by(PoolSource.organization, PoolSource.dataset)
        )
    ).all()
    versions = (
        await session.scalars(
            select(PoolVersion)
            .where(PoolVersion.pool_id == pool.id)
            .order_by(PoolVersion.number.desc())
        )
    ).all()
    contributing = sorted({s.organization for s in sources})
    members = await organizations.territory_members(session, pool.territory)
    return {
        **describe(pool, public_url),
        "sources": [
            {
                "organization": s.organization,
                "dataset": s.dataset,
                "resource": str(s.resource_id),
                "version": str(s.version_id),
                "rows": s.rows,
                "since": s.since,
            }
            for s in sources
        ],
        "contributing": contributing,
        "not_contributing": sorted(members - set(contributing)),
        "conflicts": await pooled_rows.conflicts(session, pool),
        "versions": [
            {
                "number": v.number,
                "version_id": str(v.version_id),
                "download_url": public_url + download_path(v.version_id),
                "rows": v.rows,
                "sources": v.sources,
                "created_at": v.created_at.isoformat(),
                "changes": v.summary,
            }
            for v in versions
        ],
    }
