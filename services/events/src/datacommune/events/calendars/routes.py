"""events' HTTP routes for iCalendar: import an agenda, subscribe to local events and releases."""

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select

from datacommune.events import local_events, releases, schemas
from datacommune.events.calendars import export, feeds
from datacommune.events.deps import (
    CurrentOrganization,
    MaybeOrganization,
    SchedulerDep,
    SettingsDep,
)
from datacommune.events.tables import LocalEvent
from datacommune.shared import fields
from datacommune.shared.http import TEXT, RuntimeDep
from datacommune.shared.problems import Problem

router = APIRouter(tags=["calendriers / calendars"])

MAX_JSON_BYTES = 16 * 1024


class UnsupportedMediaType(Problem):
    type = "/problems/unsupported-media-type"
    title = "Type de contenu non accepté"
    title_en = "Unsupported media type"
    status = 415


class FeedIn(BaseModel):
    """The address of a calendar feed to import."""

    url: str = Field(min_length=1, max_length=2000, examples=["https://mairie.example/agenda.ics"])


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused with a 413 problem from the first byte over ``limit``."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise feeds.too_large(limit)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise feeds.too_large(limit)
    return bytes(data)


_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/calendar": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": FeedIn.model_json_schema()},
        },
    }
}


@router.post(
    "/api/v1/local-events/import",
    response_model=schemas.CalendarImport,
    summary="Importer un agenda iCalendar / import an iCalendar agenda",
    openapi_extra=_IMPORT_BODY,
)
async def import_calendar(
    request: Request,
    org: CurrentOrganization,
    runtime: RuntimeDep,
    settings: SettingsDep,
    scheduler: SchedulerDep,
) -> dict[str, Any]:
    """Send the .ics file (``Content-Type: text/calendar``, 2 Mio at most) or the address of the
    feed (``{"url": "https://…"}``). Each occurrence becomes a local event; importing again
    updates them: moved ones move their releases, cancelled or removed ones hold them."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "text/calendar":
        data = await _body(request, feeds.MAX_BYTES)
    elif media_type == "application/json":
        try:
            feed = FeedIn.model_validate_json(await _body(request, MAX_JSON_BYTES))
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from None
        data = await feeds.fetch(feed.url, allow_private=settings.allow_private_feeds)
    else:
        raise UnsupportedMediaType(
            "Envoyez le fichier avec « Content-Type: text/calendar » (curl -H 'Content-Type: "
            'text/calendar\' --data-binary @agenda.ics), ou {"url": …} en application/json.',
            "Send the file as 'Content-Type: text/calendar', or {\"url\": …} as application/json.",
        )
    # Expanding series is CPU work: keep it off the event loop.
    parsed = await asyncio.to_thread(feeds.parse, data)
    async with runtime.sessionmaker.begin() as session:
        result = await feeds.import_calendar(session, org, parsed, source=settings.source)
        body = result.describe()
    runtime.relay.wake()
    scheduler.wake()
    return body


def _ics(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type=export.MEDIA_TYPE,
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@router.get(
    "/api/v1/releases.ics",
    summary="À paraître, en iCalendar / coming releases as iCalendar",
    response_class=Response,
    responses={200: {"content": {"text/calendar": TEXT}}},
)
async def releases_ics(
    runtime: RuntimeDep,
    org: MaybeOrganization,
    organization: fields.OrganizationQuery = None,
    territory: fields.TerritoryQuery = None,
) -> Response:
    """Announced releases (title and date only) to subscribe to, of an organization or a whole
    territory; with the organization's token, all of its scheduled releases, with their event's
    place."""
    organization, territory = organization or None, territory or None
    full = org is not None and organization in (None, org.slug) and territory is None
    async with runtime.reader() as session:
        if full:
            assert org is not None
            items = await releases.upcoming(session, organizations=[org.slug], announced_only=False)
            ids = {r.local_event_id for r in items if r.local_event_id}
            events = (
                {
                    e.id: e
                    for e in await session.scalars(select(LocalEvent).where(LocalEvent.id.in_(ids)))
                }
                if ids
                else {}
            )
        else:
            chosen = [organization] if organization else None
            if territory:
                chosen = await releases.territory(session, territory)
            items = await releases.upcoming(session, organizations=chosen, announced_only=True)
            events = {}
    slug = org.slug if full and org else (territory or organization)
    name = f"À paraître — {slug}" if slug else "À paraître"
    content = export.releases_calendar(items, events, full=full, name=name)
    return _ics(content, "releases.ics")


@router.get(
    "/api/v1/local-events.ics",
    summary="Événements à venir, en iCalendar / upcoming events as iCalendar",
    response_class=Response,
    responses={200: {"content": {"text/calendar": TEXT}}},
)
async def local_events_ics(
    runtime: RuntimeDep, organization: fields.OrganizationQuery = None
) -> Response:
    """Upcoming local events, cancelled ones included (STATUS:CANCELLED)."""
    organization = organization or None
    async with runtime.reader() as session:
        items = await local_events.upcoming(session, organization=organization)
    name = f"Événements — {organization}" if organization else "Événements locaux"
    content = export.local_events_calendar(items, name=name)
    return _ics(content, "local-events.ics")
