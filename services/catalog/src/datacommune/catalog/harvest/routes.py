"""An organization's harvest sources: register, list, run now, read the log, delete."""

import uuid
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from datacommune.catalog import problems
from datacommune.catalog.access.deps import OrganizationAdmin
from datacommune.catalog.deps import Session, SettingsDep
from datacommune.catalog.harvest import schemas, sources
from datacommune.catalog.harvest.worker import Harvester
from datacommune.catalog.tables import HarvestRun
from datacommune.shared import fields
from datacommune.shared.http import RuntimeDep

router = APIRouter(
    prefix="/api/v1/organizations/{slug}/harvest-sources", tags=["moissonnage / harvesting"]
)


def _harvester(request: Request) -> Harvester:
    harvester: Harvester = request.app.state.harvester
    return harvester


async def _last_run(session: Any, source_id: uuid.UUID) -> HarvestRun | None:
    found: HarvestRun | None = await session.scalar(
        select(HarvestRun)
        .where(HarvestRun.source_id == source_id)
        .order_by(HarvestRun.started_at.desc())
        .limit(1)
    )
    return found


@router.post(
    "",
    status_code=201,
    response_model=schemas.HarvestSource,
    summary="Moissonner un portail / harvest a portal",
)
async def create_source(
    slug: fields.OrganizationPath,
    data: sources.SourceIn,
    admin: OrganizationAdmin,
    runtime: RuntimeDep,
    settings: SettingsDep,
    request: Request,
) -> dict[str, Any]:
    """A CKAN or OpenDataSoft portal, or a DCAT catalogue, harvested at once and then every
    ``interval_hours``; its datasets become the organization's, linked to their files."""
    async with runtime.sessionmaker.begin() as session:
        source = await sources.create_source(
            session, admin, data, allow_private=settings.allow_private_harvest
        )
        body = sources.describe_source(source, None)
    _harvester(request).wake()
    return body


@router.get(
    "", response_model=schemas.HarvestSources, summary="Les sources moissonnées / harvest sources"
)
async def list_sources(
    slug: fields.OrganizationPath, admin: OrganizationAdmin, session: Session
) -> dict[str, Any]:
    return {
        "items": [
            sources.describe_source(s, await _last_run(session, s.id))
            for s in await sources.list_sources(session, admin)
        ]
    }


@router.get(
    "/{source_id}", response_model=schemas.HarvestSource, summary="Une source / a harvest source"
)
async def get_source(
    slug: fields.OrganizationPath, source_id: uuid.UUID, admin: OrganizationAdmin, session: Session
) -> dict[str, Any]:
    source = await sources.get_source(session, admin, source_id)
    return sources.describe_source(source, await _last_run(session, source.id))


@router.delete(
    "/{source_id}",
    response_model=schemas.HarvestSourceDeleted,
    summary="Ne plus moissonner / stop harvesting",
)
async def delete_source(
    slug: fields.OrganizationPath,
    source_id: uuid.UUID,
    admin: OrganizationAdmin,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """The datasets it brought leave the catalogue with it (as if deleted at the source)."""
    async with runtime.sessionmaker.begin() as session:
        source = await sources.get_source(session, admin, source_id)
        deleted = await sources.delete_source(session, source)
    return {"id": str(source_id), "deleted_datasets": deleted}


@router.post(
    "/{source_id}/run",
    status_code=202,
    response_model=schemas.HarvestRunStarted,
    summary="Moissonner maintenant / run now",
)
async def run_now(
    slug: fields.OrganizationPath,
    source_id: uuid.UUID,
    admin: OrganizationAdmin,
    runtime: RuntimeDep,
    settings: SettingsDep,
    request: Request,
) -> JSONResponse:
    """Starts a run and answers at once; follow it in ``…/runs``. 409 while one is running."""
    async with runtime.reader() as session:
        source = await sources.get_source(session, admin, source_id)
        running = source.run_id
    run_id = await _harvester(request).start(source_id)
    if run_id is None:
        raise problems.harvest_running(str(running) if running else None)
    runs_url = (
        f"{settings.http.public_url}/api/v1/organizations/{admin}/harvest-sources/{source_id}/runs"
    )
    return JSONResponse(
        {"run": str(run_id), "status": "running", "runs_url": runs_url},
        status_code=202,
        headers={"Location": runs_url},
    )


@router.get("/{source_id}/runs", response_model=schemas.HarvestRuns, summary="Journal / run log")
async def list_runs(
    slug: fields.OrganizationPath,
    source_id: uuid.UUID,
    admin: OrganizationAdmin,
    session: Session,
    limit: int = Query(default=20, ge=1, le=200),
) -> dict[str, Any]:
    """The last runs, newest first: counts, and the cause of every failure."""
    source = await sources.get_source(session, admin, source_id)
    return {
        "items": [
            sources.describe_run(r) for r in await sources.last_runs(session, source.id, limit)
        ]
    }
