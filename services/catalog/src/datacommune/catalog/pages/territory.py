"""Pages of a territory: data requests with their votes, and the coverage matrix a département
reads (which collectivité publishes which national schema, and which lacks it).

Voting needs no account. The browser gets a random voter key in a cookie the first time it
opens the requests page; a vote must carry a field derived from that key, so another site
cannot make a visitor vote (it cannot read the cookie), and a browser counts once per request.
"""

import secrets
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from datacommune.catalog.access import organizations
from datacommune.catalog.deps import Session, SettingsDep, VoteLimit
from datacommune.catalog.pages.labels import KINDS
from datacommune.catalog.requests import data_requests
from datacommune.shared import fields, web
from datacommune.shared.http import RuntimeDep
from datacommune.shared.problems import PAGE_RESPONSES, NotFound, Problem
from datacommune.shared.settings import SiteSettings

VOTER = "datacommune_votant"

LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "requests": "Demandes de données",
        "requests_intro": "Ce que les habitants, les entreprises et les associations "
        "aimeraient voir publié ; votez pour celles qui vous serviraient.",
        "no_requests": "Aucune demande pour l'instant.",
        "votes": "vote(s)",
        "vote": "Voter",
        "voted": "Votre vote est compté.",
        "ask": "Demander des données",
        "ask_title": "Quelles données ?",
        "ask_description": "Pourquoi, pour quoi faire (facultatif)",
        "ask_territory": "Pour quel territoire (facultatif)",
        "anywhere": "Tout le territoire",
        "ask_schema": "Schéma national attendu (facultatif, ex. scdl-deliberations)",
        "ask_button": "Envoyer la demande",
        "asked": "Votre demande est publiée.",
        "coverage": "Couverture des schémas nationaux",
        "coverage_pooled": "Données mutualisées du territoire",
        "coverage_intro": "Pour chaque collectivité, les jeux conformes à chaque schéma "
        "national ; « manque » quand elle n'en publie aucun.",
        "lacks": "manque",
        "territory_requests": "Demandes les plus votées sur ce territoire",
        "collectivity": "Collectivité",
        "no_schema_yet": "Aucun jeu conforme à un schéma national n'est encore publié ici.",
    },
    "en": {
        "requests": "Data requests",
        "requests_intro": "What residents, businesses and associations would like to see "
        "published; vote for the ones you would use.",
        "no_requests": "No request yet.",
        "votes": "vote(s)",
        "vote": "Vote",
        "voted": "Your vote is counted.",
        "ask": "Ask for data",
        "ask_title": "Which data?",
        "ask_description": "Why, what for (optional)",
        "ask_territory": "For which territory (optional)",
        "anywhere": "The whole territory",
        "ask_schema": "Expected national schema (optional, e.g. scdl-deliberations)",
        "ask_button": "Send the request",
        "asked": "Your request is published.",
        "coverage": "Coverage of the national schemas",
        "coverage_pooled": "The territory's pooled data",
        "coverage_intro": "For each local authority, its datasets conforming to each national "
        "schema; « lacks » where it publishes none.",
        "lacks": "lacks",
        "territory_requests": "Most wanted requests in this territory",
        "collectivity": "Local authority",
        "no_schema_yet": "No dataset conforming to a national schema is published here yet.",
    },
}

router = APIRouter(
    tags=["pages (HTML)"],
    default_response_class=HTMLResponse,
    responses=PAGE_RESPONSES,
)


@router.get("/demandes", summary="Les demandes de données / data requests")
async def requests_page(
    request: Request,
    session: Session,
    territoire: fields.TerritoryQuery = None,
    fait: str | None = fields.line_query(16),
) -> HTMLResponse:
    """Requests, most wanted first, each with a vote button; and a form to ask."""
    lang = web.language(request.query_params.get("lang"))
    voter = request.cookies.get(VOTER) or secrets.token_urlsafe(24)
    response = web.pages_of(request).render(
        request,
        "requests.html",
        lang,
        items=await data_requests.ranked(session, territoire or None),
        organizations=await organizations.list_all(session),
        territory=territoire or None,
        done=fait,
        csrf=web.csrf_for(voter),
    )
    if VOTER not in request.cookies:
        response.set_cookie(VOTER, voter, httponly=True, samesite="strict", max_age=365 * 86400)
    return response


@router.post(
    "/demandes",
    summary="Demander des données / ask for data",
    status_code=303,
    response_class=RedirectResponse,
)
async def ask(request: Request, runtime: RuntimeDep, settings: SettingsDep) -> Response:
    lang = web.language(request.query_params.get("lang"))
    fields = await web.small_form(request)
    _check_voter(request, fields, settings.site)
    try:
        data = data_requests.RequestIn(
            title=fields.get("title", ""),
            description=fields.get("description", ""),
            territory=fields.get("territory") or None,
            schema_id=fields.get("schema") or None,
        )
    except ValidationError as exc:
        raise InvalidRequestForm.of(exc) from None
    async with runtime.sessionmaker.begin() as session:
        created = await data_requests.create(session, data)
    return RedirectResponse(
        web.linker(lang)("/demandes", {"fait": "demande"}) + f"#demande-{created.id}",
        status_code=303,
    )


@router.post(
    "/demandes/{request_id}/votes",
    summary="Voter pour une demande / vote",
    status_code=303,
    response_class=RedirectResponse,
)
async def vote(
    request_id: uuid.UUID,
    request: Request,
    runtime: RuntimeDep,
    limit: VoteLimit,
    settings: SettingsDep,
) -> Response:
    lang = web.language(request.query_params.get("lang"))
    fields = await web.small_form(request)
    voter = _check_voter(request, fields, settings.site)
    limit.check(request.client.host if request.client else "?")
    await data_requests.vote(runtime.sessionmaker, request_id, voter)
    return RedirectResponse(
        web.linker(lang)("/demandes", {"fait": "vote"}) + f"#demande-{request_id}",
        status_code=303,
    )


def _check_voter(request: Request, fields: dict[str, str], site: SiteSettings) -> str:
    """The browser's voter key, with the field only our page could derive from it."""
    web.check_origin(request, site)
    voter = request.cookies.get(VOTER, "")
    web.check_csrf(voter, fields.get("csrf") if voter else None)
    return voter


@router.get(
    "/territoires/{slug}",
    summary="Un territoire : couverture et demandes / a territory: coverage and requests",
    responses={404: {"content": {"text/html": {}}}},
)
async def territory_page(
    slug: fields.OrganizationPath, request: Request, session: Session
) -> HTMLResponse:
    """Who publishes which national schema under this organization, and what people ask."""
    lang = web.language(request.query_params.get("lang"))
    try:
        org = await organizations.get(session, slug)
    except NotFound:
        return web.pages_of(request).not_found(request, lang)
    return web.pages_of(request).render(
        request,
        "territory.html",
        lang,
        org=org,
        kind=KINDS[lang].get(org.kind, org.kind),
        coverage=await data_requests.coverage(session, slug),
        items=(await data_requests.ranked(session, slug))[:20],
    )


class InvalidRequestForm(Problem):
    type = "/problems/invalid-request-form"
    title = "Demande incomplète"
    title_en = "Incomplete request"
    status = 422

    @classmethod
    def of(cls, exc: ValidationError) -> "InvalidRequestForm":
        field = ".".join(str(p) for p in exc.errors()[0].get("loc", ())) or "?"
        names: dict[str, Any] = {"title": "Quelles données ?", "description": "Pourquoi"}
        return cls(
            f"Le champ « {names.get(field, field)} » est absent, trop court ou trop long : "
            "corrigez-le et renvoyez la demande.",
            f"The field {field!r} is missing, too short or too long: fix it and send again.",
            field=field,
        )
