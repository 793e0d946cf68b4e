"""``GET /api/v1/pools`` and ``GET /api/v1/pools/{slug}``: the territory's pooled data."""

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from datacommune.catalog import problems
from datacommune.catalog.deps import Session, SettingsDep
from datacommune.catalog.pooling import schemas, views
from datacommune.catalog.tables import Pool

router = APIRouter(prefix="/api/v1", tags=["données mutualisées / pooled data"])


@router.get(
    "/pools",
    response_model=schemas.Pools,
    summary="Les données mutualisées / every pooled dataset",
)
async def list_pools(session: Session, settings: SettingsDep) -> dict[str, Any]:
    """One per territory and national schema that at least one published file conforms to,
    once its first version is made."""
    pools = await session.scalars(
        select(Pool).where(Pool.dataset_id.is_not(None)).order_by(Pool.slug)
    )
    public_url = settings.http.public_url
    return {"items": [views.describe(p, public_url) for p in pools]}


@router.get(
    "/pools/{slug}",
    response_model=schemas.PoolDetail,
    summary="Des données mutualisées / one pooled dataset",
)
async def get_pool(slug: str, session: Session, settings: SettingsDep) -> dict[str, Any]:
    """Its sources, the organizations of the territory that do not contribute yet, the key
    conflicts between sources, and each version with what it changed."""
    pool = await session.scalar(select(Pool).where(Pool.slug == slug))
    if pool is None or pool.dataset_id is None:
        raise problems.pool_not_found(slug)
    return await views.detail(session, pool, settings.http.public_url)
