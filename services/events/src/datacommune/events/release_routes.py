"""events' HTTP routes for release plans, and their public announcements."""

import uuid
from typing import Any

from fastapi import APIRouter, Response

from datacommune.events import releases, schemas
from datacommune.events.deps import (
    CurrentOrganization,
    ReadingOrganization,
    SchedulerDep,
    SettingsDep,
)
from datacommune.shared import fields
from datacommune.shared.http import RuntimeDep

router = APIRouter(prefix="/api/v1/releases", tags=["publications programmées / releases"])


@router.post(
    "",
    status_code=201,
    response_model=schemas.Release,
    summary="Programmer une publication / plan a release",
)
async def create(
    data: releases.ReleaseIn,
    org: CurrentOrganization,
    runtime: RuntimeDep,
    scheduler: SchedulerDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Plan a release at a local event (with an offset) or at a time; then upload each file of
    the bundle with ``release=<id>``: it stays embargoed until the release opens."""
    async with runtime.sessionmaker.begin() as session:
        release = await releases.create(session, org, data, source=settings.source)
        body = releases.describe(release)
    scheduler.wake()
    return body


@router.get(
    "", response_model=schemas.Releases, summary="Mes publications programmées / my releases"
)
async def mine(org: ReadingOrganization, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.reader() as session:
        items = await releases.upcoming(session, organizations=[org.slug], announced_only=False)
        held = await releases.contents(session, [r.id for r in items])
    return {"items": [releases.describe(r, contents=held[r.id]) for r in items]}


@router.get(
    "/upcoming",
    response_model=schemas.ReleaseAnnouncements,
    summary="À paraître / coming releases (announced ones)",
)
async def announced(
    runtime: RuntimeDep,
    organization: fields.OrganizationQuery = None,
    territory: fields.TerritoryQuery = None,
) -> dict[str, Any]:
    """What is announced to open, with its title and date only."""
    async with runtime.reader() as session:
        chosen = [organization] if organization else None
        if territory:
            chosen = await releases.territory(session, territory)
        items = await releases.upcoming(session, organizations=chosen, announced_only=True)
    return {"items": [releases.describe(r, full=False) for r in items]}


@router.get(
    "/{release_id}",
    response_model=schemas.Release,
    summary="Une publication programmée / one release",
)
async def get_release(
    release_id: uuid.UUID, org: ReadingOrganization, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.reader() as session:
        release = await releases.get(session, release_id, org)
        held = await releases.contents(session, [release.id])
        return releases.describe(release, contents=held[release.id])


@router.delete("/{release_id}", status_code=204, summary="Renoncer / withdraw a release")
async def withdraw(
    release_id: uuid.UUID, org: CurrentOrganization, runtime: RuntimeDep, settings: SettingsDep
) -> Response:
    """The release will not open; its files stay embargoed (upload them again without it)."""
    async with runtime.sessionmaker.begin() as session:
        await releases.withdraw(
            session,
            await releases.get(session, release_id, org),
            source=settings.source,
        )
    return Response(status_code=204)
