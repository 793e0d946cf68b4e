"""The catalogue as DCAT-AP, and a dataset as a Data Package, for harvesters and tools."""

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.catalog.core import datasets
from datacommune.catalog.deps import Session, SettingsDep
from datacommune.catalog.interop import datapackage as data_package
from datacommune.catalog.interop import dcat, schemas
from datacommune.catalog.tables import Dataset, Pool, Resource
from datacommune.shared import fields
from datacommune.shared.http import TEXT

router = APIRouter(prefix="/api/v1")
# A JSON-LD document: the nodes of the graph (an array, or an object with ``@graph``).
JSON_LD = {"schema": {"type": ["array", "object"]}}


@router.get(
    "/catalog.{extension}",
    tags=["moissonnage / harvesting"],
    response_class=Response,
    responses={200: {"content": {"application/ld+json": JSON_LD, "text/turtle": TEXT}}},
    summary="Le catalogue en DCAT-AP / the catalogue as DCAT-AP",
)
async def dcat_catalog(
    extension: Literal["jsonld", "ttl"],
    session: Session,
    settings: SettingsDep,
    page: int = Query(default=1, ge=1),
    page_size: int = Query(default=100, ge=1, le=1000),
) -> Response:
    """DCAT-AP (FR) for harvesters such as data.gouv.fr's, paged with hydra."""
    graph = await dcat.catalog(
        session,
        public_url=settings.http.public_url,
        schemas_url=settings.validate_public_url,
        page=page,
        page_size=page_size,
        title=settings.catalog_title,
    )
    media_type = "text/turtle" if extension == "ttl" else "application/ld+json"
    return Response(dcat.serialize(graph, extension), media_type=f"{media_type}; charset=utf-8")


@router.get(
    "/datasets/{slug}/datapackage.json",
    tags=["moissonnage / harvesting"],
    response_model=schemas.DataPackage,
    # A resource's format, schema, media type or size is there only when it is known.
    response_model_exclude_unset=True,
    summary="Le jeu de données en Data Package / the dataset as a Data Package",
)
async def datapackage(
    slug: fields.DatasetPath, session: Session, settings: SettingsDep
) -> dict[str, Any]:
    """A Frictionless Data Package: ``frictionless validate`` checks it against its schemas."""
    dataset = await datasets.get(session, slug)
    return data_package.describe(
        dataset,
        settings.http.public_url,
        settings.validate_public_url,
        pooled=await _pooled(session, dataset),
    )


@router.get(
    "/versions/{version_id}/datapackage.json",
    tags=["moissonnage / harvesting"],
    response_model=schemas.DataPackage,
    response_model_exclude_unset=True,
    summary="Une version en Data Package / one version as a Data Package",
)
async def version_datapackage(
    version_id: uuid.UUID, session: Session, settings: SettingsDep
) -> dict[str, Any]:
    """The Data Package of one version: it describes the same bytes forever (the dataset's own
    descriptor follows its latest versions)."""
    version = await datasets.get_version(session, version_id)
    slug = await session.scalar(
        select(Dataset.slug)
        .join(Resource, Resource.dataset_id == Dataset.id)
        .where(Resource.id == version.resource_id)
    )
    assert slug is not None
    dataset = await datasets.get(session, slug)
    return data_package.describe(
        dataset,
        settings.http.public_url,
        settings.validate_public_url,
        only=version,
        pooled=await _pooled(session, dataset),
    )


async def _pooled(session: AsyncSession, dataset: Dataset) -> bool:
    return await session.scalar(select(Pool.id).where(Pool.dataset_id == dataset.id)) is not None
