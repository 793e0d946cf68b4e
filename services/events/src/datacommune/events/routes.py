"""events' HTTP routes: the CRUD of local events."""

import uuid
from typing import Any

from fastapi import APIRouter, Query, Request, Response

from datacommune.events import local_events, releases, schemas
from datacommune.events.deps import CurrentOrganization, SchedulerDep, SettingsDep
from datacommune.shared import fields
from datacommune.shared.http import RuntimeDep

router = APIRouter(prefix="/api/v1/local-events", tags=["événements locaux / local events"])


@router.post(
    "",
    status_code=201,
    response_model=schemas.LocalEvent,
    summary="Annoncer un événement / announce an event",
)
async def create(
    data: local_events.LocalEventIn,
    org: CurrentOrganization,
    runtime: RuntimeDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    async with runtime.sessionmaker.begin() as session:
        item = await local_events.create(session, org, data, source=settings.source)
    runtime.relay.wake()
    return local_events.describe(item)


@router.get("", response_model=schemas.LocalEvents, summary="Événements à venir / upcoming events")
async def list_events(
    runtime: RuntimeDep,
    organization: fields.OrganizationQuery = None,
    past_days: int = Query(default=0, ge=0, le=3660),
) -> dict[str, Any]:
    async with runtime.reader() as session:
        items = await local_events.upcoming(session, organization=organization, past_days=past_days)
    return {"items": [local_events.describe(i) for i in items]}


@router.get("/{event_id}", response_model=schemas.LocalEvent)
async def get_event(event_id: uuid.UUID, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.reader() as session:
        return local_events.describe(await local_events.get(session, event_id))


@router.patch(
    "/{event_id}",
    response_model=schemas.LocalEvent,
    summary="Modifier un événement / change an event",
)
async def patch_event(
    request: Request,
    event_id: uuid.UUID,
    patch: local_events.LocalEventPatch,
    org: CurrentOrganization,
    runtime: RuntimeDep,
    settings: SettingsDep,
    scheduler: SchedulerDep,
) -> dict[str, Any]:
    async with runtime.sessionmaker.begin() as session:
        item = await local_events.get(session, event_id)
        item = await local_events.update(session, org, item, patch, source=settings.source)
        await releases.follow_event(session, item, source=settings.source)
        body = local_events.describe(item)
    runtime.relay.wake()
    scheduler.wake()
    return body


@router.delete("/{event_id}", status_code=204, summary="Supprimer / delete")
async def delete_event(
    event_id: uuid.UUID, org: CurrentOrganization, runtime: RuntimeDep, settings: SettingsDep
) -> Response:
    async with runtime.sessionmaker.begin() as session:
        item = await local_events.get(session, event_id)
        local_events.check_owner(item, org)
        # Its releases are held, and the organization told, before the event goes.
        item.status = "cancelled"
        await releases.follow_event(session, item, source=settings.source)
        await local_events.delete(session, org, item, source=settings.source)
    runtime.relay.wake()
    return Response(status_code=204)
