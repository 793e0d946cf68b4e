"""Pages of the calendar: a collectivité's local events and the releases timed to them, and the
public list of what is announced to open (« à paraître »), with its feeds.

Signing in happens in the collectivités' space (ingest); its cookie reaches these pages too.
"""

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from datacommune.events import local_events, releases
from datacommune.events.deps import SchedulerDep, SettingsDep
from datacommune.events.settings import Settings
from datacommune.events.tables import LocalEvent, Organization, Token
from datacommune.shared import fields, web
from datacommune.shared.http import RuntimeDep
from datacommune.shared.problems import PAGE_RESPONSES, Problem

HERE = Path(__file__).parent / "pages"
# Offsets offered for a release, in minutes from the event's start.
OFFSETS = [0, -60, 60, 24 * 60]

LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "calendar": "Calendrier et publications programmées",
        "intro": "Choisissez l'événement local auquel vos données s'ouvriront : elles restent "
        "invisibles jusqu'à ce moment, puis s'ouvrent toutes ensemble.",
        "events": "Événements à venir",
        "no_events": "Aucun événement à venir. Ajoutez-en un ci-dessous.",
        "add_event": "Ajouter un événement",
        "title": "Intitulé",
        "kind": "Nature",
        "starts_at": "Début (heure de Paris)",
        "location": "Lieu (facultatif)",
        "add": "Ajouter",
        "plan": "Programmer une publication à cet événement",
        "release_title": "Nom de la publication (ex. Budget 2027)",
        "offset": "Moment",
        "offset_0": "au début de l'événement",
        "offset_-60": "une heure avant",
        "offset_60": "une heure après le début",
        "offset_1440": "le lendemain à la même heure",
        "announce": "L'annoncer « à paraître » (titre et date seulement)",
        "plan_button": "Programmer",
        "planned": "Publications programmées",
        "none_planned": "Aucune publication programmée.",
        "opens_at": "s'ouvrira le",
        "at": "à",
        "upload_for": "Déposer un fichier pour cette publication",
        "created": "C'est programmé.",
        "coming": "À paraître",
        "coming_intro": "Les données que les collectivités ont annoncées, avec leur date "
        "d'ouverture.",
        "nothing_coming": "Rien d'annoncé pour l'instant.",
        "at_event": "à l'occasion de",
        "subscribe": "S'abonner",
        "ical": "Calendrier (iCalendar)",
        "atom": "Fil des ouvertures (Atom)",
        "sign_in_first": "Connectez-vous dans l'espace de publication pour voir votre calendrier.",
        "event_kinds": "conseil-municipal:Conseil municipal|conseil-communautaire:Conseil "
        "communautaire|hackathon:Hackathon|salon:Salon, foire|autre:Autre",
    },
    "en": {
        "calendar": "Calendar and planned releases",
        "intro": "Choose the local event your data will open at: it stays invisible until "
        "then, and opens all together.",
        "events": "Coming events",
        "no_events": "No coming event. Add one below.",
        "add_event": "Add an event",
        "title": "Title",
        "kind": "Kind",
        "starts_at": "Start (Paris time)",
        "location": "Place (optional)",
        "add": "Add",
        "plan": "Plan a release at this event",
        "release_title": "Release name (e.g. Budget 2027)",
        "offset": "When",
        "offset_0": "when the event starts",
        "offset_-60": "one hour before",
        "offset_60": "one hour after the start",
        "offset_1440": "the next day, same time",
        "announce": "Announce it as coming (title and date only)",
        "plan_button": "Plan",
        "planned": "Planned releases",
        "none_planned": "No release planned.",
        "opens_at": "opens on",
        "at": "at",
        "upload_for": "Upload a file for this release",
        "created": "Planned.",
        "coming": "Coming releases",
        "coming_intro": "The data local authorities announced, with the date it opens.",
        "nothing_coming": "Nothing announced yet.",
        "at_event": "at",
        "subscribe": "Subscribe",
        "ical": "Calendar (iCalendar)",
        "atom": "Openings feed (Atom)",
        "sign_in_first": "Sign in to the publishing space to see your calendar.",
        "event_kinds": "conseil-municipal:Council meeting|conseil-communautaire:Community "
        "council|hackathon:Hackathon|salon:Fair|autre:Other",
    },
}

router = APIRouter(
    tags=["pages (HTML)"],
    default_response_class=HTMLResponse,
    responses=PAGE_RESPONSES,
)


def install(app: FastAPI, settings: Settings) -> None:
    web.Pages(HERE / "templates", LABELS, settings.site).install(app)


def _local(moment: datetime | None, zone: str) -> datetime | None:
    return moment.astimezone(ZoneInfo(zone)) if moment else None


@router.get("/espace/calendrier", summary="Mon calendrier / my calendar")
async def calendar(
    request: Request,
    runtime: RuntimeDep,
    settings: SettingsDep,
    programme: str | None = fields.line_query(64, "Celle créée"),
) -> Response:
    """The organization's coming events, each with a form to time a release to it."""
    lang = web.language(request.query_params.get("lang"))
    principal = await web.caller(request, runtime.reader, Organization, Token, need="viewer")
    if principal is None:
        return RedirectResponse(
            web.linker(lang)(settings.site.ingest_url + "/espace/connexion"), status_code=303
        )
    slug = principal.slug
    async with runtime.reader() as session:
        items = await local_events.upcoming(session, organization=slug)
        plans = await releases.upcoming(session, organizations=[slug], announced_only=False)
        names = {e.id: e.title for e in items}
    return web.pages_of(request).render(
        request,
        "calendar.html",
        lang,
        org=principal.organization,
        items=[{"event": e, "local": _local(e.starts_at, e.timezone)} for e in items],
        plans=[
            {
                "release": r,
                "local": _local(r.due_at, r.timezone),
                "event": names.get(r.local_event_id) if r.local_event_id else None,
            }
            for r in plans
        ],
        created=programme,
        offsets=OFFSETS,
        kinds=[k.split(":", 1) for k in LABELS[lang]["event_kinds"].split("|")],
        csrf=web.csrf_of(request),
    )


@router.post(
    "/espace/calendrier/evenements",
    summary="Ajouter un événement / add an event",
    status_code=303,
    response_class=RedirectResponse,
)
async def add_event(request: Request, runtime: RuntimeDep, settings: SettingsDep) -> Response:
    lang, principal, fields = await _form(request, runtime)
    data = _model(
        local_events.LocalEventIn,
        {
            "title": fields.get("title", ""),
            "kind": fields.get("kind") or "conseil-municipal",
            "starts_at": fields.get("starts_at", ""),
            "location": fields.get("location") or None,
        },
    )
    async with runtime.sessionmaker.begin() as session:
        await local_events.create(session, principal.organization, data, source=settings.source)
    runtime.relay.wake()
    return RedirectResponse(web.linker(lang)("/espace/calendrier"), status_code=303)


@router.post(
    "/espace/calendrier/publications",
    summary="Programmer une publication / plan a release",
    status_code=303,
    response_class=RedirectResponse,
)
async def plan_release(
    request: Request, runtime: RuntimeDep, settings: SettingsDep, scheduler: SchedulerDep
) -> Response:
    lang, principal, fields = await _form(request, runtime)
    data = _model(
        releases.ReleaseIn,
        {
            "title": fields.get("title", ""),
            "local_event_id": fields.get("local_event_id") or None,
            "offset_minutes": fields.get("offset_minutes") or 0,
            "announce": bool(fields.get("announce")),
        },
    )
    async with runtime.sessionmaker.begin() as session:
        release = await releases.create(
            session, principal.organization, data, source=settings.source
        )
    runtime.relay.wake()
    scheduler.wake()
    return RedirectResponse(
        web.linker(lang)("/espace/calendrier", {"programme": str(release.id)}), status_code=303
    )


async def _form(request: Request, runtime: Any) -> tuple[str, Any, dict[str, str]]:
    """A calendar form: its language, who sends it (a publisher, from our pages), its fields."""
    principal = await web.form_caller(request, runtime.reader, Organization, Token)
    fields = await web.small_form(request)
    web.check_form(request, fields)
    return web.language(request.query_params.get("lang")), principal, fields


@router.get("/a-paraitre", summary="À paraître / coming releases")
async def coming(
    request: Request,
    runtime: RuntimeDep,
    organization: fields.OrganizationQuery = None,
) -> HTMLResponse:
    """What collectivités announced, with its date, and the feeds to follow it."""
    lang = web.language(request.query_params.get("lang"))
    async with runtime.reader() as session:
        items = await releases.upcoming(
            session, organizations=[organization] if organization else None, announced_only=True
        )
        # Names, not slugs: the organization as people know it, the meeting it opens at.
        names = dict((await session.execute(select(Organization.slug, Organization.name))).all())
        event_ids = {r.local_event_id for r in items if r.local_event_id}
        events_by_id = {
            e.id: e
            for e in (
                await session.scalars(select(LocalEvent).where(LocalEvent.id.in_(event_ids)))
            ).all()
        }
    return web.pages_of(request).render(
        request,
        "coming.html",
        lang,
        items=[
            {
                "release": r,
                "local": _local(r.due_at, r.timezone),
                "organization_name": names.get(r.organization, r.organization),
                "event": events_by_id.get(r.local_event_id) if r.local_event_id else None,
            }
            for r in items
        ],
        organization=organization,
        organization_name=names.get(organization or "", organization),
    )


class InvalidForm(Problem):
    type = "/problems/invalid-form"
    title = "Formulaire incomplet"
    title_en = "Incomplete form"
    status = 422


def _model(model: Any, values: dict[str, Any]) -> Any:
    """A form's values as the API's model, its first mistake said in words."""
    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "?"
        raise InvalidForm(
            f"Le champ « {field} » est absent ou mal formé ; corrigez-le et renvoyez le "
            "formulaire.",
            f"The field {field!r} is missing or malformed; fix it and send the form again.",
            field=field,
        ) from None
