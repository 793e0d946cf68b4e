"""Pages for people: the catalogue as server-rendered HTML, in French with an English switch.

No JavaScript and no CDN: every asset is served from ``/static``. Every text a collectivité wrote
goes through Jinja2's autoescape; a description's Markdown is the one already rendered safely by
``metadata.render``.
"""

import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from sqlalchemy import select

from datacommune.catalog import search
from datacommune.catalog.access import organizations
from datacommune.catalog.core import datasets, formats, metadata
from datacommune.catalog.deps import Session, SettingsDep
from datacommune.catalog.pages.labels import KINDS, LABELS, OPERATOR_LABELS
from datacommune.catalog.pages.previews import map_of, preview
from datacommune.catalog.pooling import views as pooled_views
from datacommune.catalog.rows.deps import RowsDep
from datacommune.catalog.settings import Settings
from datacommune.catalog.tables import Dataset, Organization, Pool
from datacommune.shared import fields, web
from datacommune.shared.problems import PAGE_RESPONSES, NotFound

HERE = Path(__file__).parent
router = APIRouter(
    tags=["pages (HTML)"],
    default_response_class=HTMLResponse,
    responses=PAGE_RESPONSES,
)
_language = web.language


def install(app: FastAPI, settings: Settings, *more: dict[str, dict[str, str]]) -> None:
    """The catalogue's pages on the shared base (with the labels of ``more`` pages), and
    problems shown as pages to browsers."""
    labels = {
        lang: LABELS[lang] | {k: v for m in more for k, v in m[lang].items()} for lang in LABELS
    }
    web.Pages(HERE / "templates", labels, settings.site).install(app)


def _render(
    request: Request, name: str, lang: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    return web.pages_of(request).render(request, name, lang, status_code=status_code, **context)


def _not_found(request: Request, lang: str) -> HTMLResponse:
    return web.pages_of(request).not_found(request, lang)


def _web_link(url: str | None) -> str | None:
    """Only web addresses become links (a harvested URL could say ``javascript:``)."""
    return url if url and url.startswith(("https://", "http://")) else None


@router.get("/", summary="Accueil : chercher un jeu de données / home: search the catalogue")
async def home(
    request: Request,
    session: Session,
    q: str | None = fields.line_query(200),
    organization: fields.OrganizationQuery = None,
    schema: str | None = fields.line_query(200),
    theme: str | None = fields.line_query(16),
    licence: str | None = fields.line_query(64),
    format: str | None = fields.line_query(16),
    cursor: str | None = fields.line_query(500),
    lang: str | None = fields.line_query(8),
) -> HTMLResponse:
    """The search form, the results with their facets, and the next page."""
    language = _language(lang)
    filters = {
        "organization": organization,
        "theme": theme,
        "licence": licence,
        "schema": schema,
        "format": format,
    }
    results = await search.find(
        session,
        search.Query(
            q=q or "",
            organization=organization or None,
            theme=theme,
            licence=licence,
            schema=schema,
            format=format,
            cursor=cursor,
            limit=20,
        ),
    )
    items = await search.load(session, results.ids)
    names = {o.slug: o.name for o in await organizations.list_all(session)}
    labels = {"organization": names, "theme": metadata.THEMES, "licence": metadata.LICENCES}
    return _render(
        request,
        "home.html",
        language,
        q=q or "",
        filters=filters,
        results=results,
        items=items,
        hits={d.slug: summary(d) for d in items},
        names=names,
        labels=labels,
        facets=search.FACETS,
    )


@router.get(
    "/jeux-de-donnees/{slug}",
    summary="La page d'un jeu de données / a dataset's page",
    responses={404: {"content": {"text/html": {}}}},
)
async def dataset_page(
    slug: fields.DatasetPath,
    request: Request,
    session: Session,
    settings: SettingsDep,
    rows: RowsDep,
    lang: str | None = fields.line_query(8),
    version: str | None = fields.line_query(64),
    colonne: str | None = fields.line_query(200),
    op: str = fields.line_query(10, default="exact"),
    valeur: str = fields.line_query(500, default=""),
    tri: str | None = fields.line_query(201),
    curseur: str | None = fields.line_query(2000),
) -> HTMLResponse:
    """Description, files and versions, exports, the rows with a filter (the row API's own
    parameters, from a plain form), and API snippets."""
    language = _language(lang)
    try:
        dataset = await datasets.get(session, slug)
    except NotFound:
        return _not_found(request, language)
    public_url = settings.http.public_url
    body = datasets.describe(dataset, public_url, full=True)
    wanted: list[tuple[str, str]] = []
    if colonne:
        wanted.append((colonne if op == "exact" else f"{colonne}__{op}", valeur))
    if tri:
        wanted.append(("_sort", tri))
    if curseur:
        wanted.append(("_cursor", curseur))
    maps = {
        str(resource.versions[-1].id): await map_of(rows, resource.versions[-1])
        for resource in dataset.resources
        if resource.versions
    }
    # The filter applies to the version its form was for (each file has its own columns).
    previews = {
        str(resource.versions[-1].id): await preview(
            rows,
            resource.versions[-1],
            wanted if version in (None, str(resource.versions[-1].id)) else [],
        )
        for resource in dataset.resources
        if resource.versions
    }
    rows_url = next(
        (
            v["rows"]["url"]
            for r in body["resources"]
            for v in reversed(r["versions"])
            if v["rows"] and v["rows"].get("url")
        ),
        None,
    )
    org = await session.get(Organization, dataset.organization)
    pool = await session.scalar(select(Pool).where(Pool.dataset_id == dataset.id))
    return _render(
        request,
        "dataset.html",
        language,
        dataset=body,
        description=Markup(body["description_html"]),
        organization_name=org.name if org else dataset.organization,
        badges=_badges(dataset),
        previews=previews,
        maps=maps,
        rows_url=rows_url,
        web_link=_web_link,
        chosen={"colonne": colonne, "op": op, "valeur": valeur, "tri": tri, "version": version},
        operators=OPERATOR_LABELS[language],
        pooled=await pooled_views.detail(session, pool, public_url) if pool else None,
    )


@router.get(
    "/organisations/{slug}",
    summary="La page d'une organisation / an organization's page",
    responses={404: {"content": {"text/html": {}}}},
)
async def organization_page(
    slug: fields.OrganizationPath,
    request: Request,
    session: Session,
    cursor: str | None = fields.line_query(500),
    lang: str | None = fields.line_query(8),
) -> HTMLResponse:
    """Who the organization is, and its public datasets."""
    language = _language(lang)
    try:
        org = await organizations.get(session, slug)
    except NotFound:
        return _not_found(request, language)
    parent = await session.get(Organization, org.parent) if org.parent else None
    results = await search.find(
        session, search.Query(organization=org.slug, sort="date", cursor=cursor, limit=50)
    )
    items = await search.load(session, results.ids)
    return _render(
        request,
        "organization.html",
        language,
        org=org,
        kind=KINDS[language].get(org.kind, org.kind),
        parent=parent,
        results=results,
        items=items,
    )


def summary(dataset: Dataset) -> dict[str, Any]:
    """What a search result shows to choose a dataset without opening it: the start of its
    description, its last change, its files' formats and size, how they stand against their
    schemas (public versions only: the relationships hold no other)."""
    latest = [r.versions[-1] for r in dataset.resources if r.versions]
    kinds = {formats.of(v.media_type, v.filename) for v in latest}
    return {
        "excerpt": excerpt(dataset.description),
        "updated": dataset.updated_at.strftime("%d/%m/%Y"),
        "formats": sorted(k.name.upper() for k in kinds if k is not None),
        "size": human_size(sum(v.size for v in latest)) if latest else None,
        "badges": _badges(dataset),
    }


def excerpt(markdown: str, most: int = 220) -> str:
    """The description's first words as plain text (Markdown's marks left out)."""
    # Links: their words (an address may hold one level of parentheses).
    text = re.sub(r"\[([^\]]*)\]\((?:[^()]|\([^()]*\))*\)", r"\1", markdown)
    # Emphasis and code: the words stay, the marks go (not the « _ » inside nom_commune).
    text = re.sub(r"(\*{1,2}|(?<!\w)_{1,2}|`+)(\S(?:.*?\S)?)\1", r"\2", text)
    text = re.sub(r"[#>|]+", " ", text)  # titles, quotes, tables: a space
    text = " ".join(text.split())
    return text if len(text) <= most else text[:most].rsplit(" ", 1)[0] + " …"


def human_size(size: int) -> str:
    """« 12,3 Ko », « 4,1 Mo »: French units, a decimal comma."""
    value = float(size)
    for unit in ("octets", "Ko", "Mo", "Go"):
        if value < 1000 or unit == "Go":
            shown = f"{value:.0f}" if unit == "octets" else f"{value:.1f}".replace(".", ",")
            return f"{shown} {unit}"
        value /= 1000
    return f"{size} octets"


def _badges(dataset: Dataset) -> list[tuple[str, str, list[str]]]:
    """Each schema the latest files claim, and how they stand against it: ``ok`` when all
    conform, ``partial`` when they would but for checks that could not run (named), ``ko``."""
    states: dict[str, tuple[str, list[str]]] = {}
    rank = {"ok": 0, "partial": 1, "ko": 2}
    for resource in dataset.resources:
        if resource.versions and resource.versions[-1].schema_id:
            latest = resource.versions[-1]
            unchecked = list(latest.unchecked or [])
            state = "ok" if latest.valid else "partial" if unchecked else "ko"
            schema_id = str(latest.schema_id)
            before, names = states.get(schema_id, ("ok", []))
            worst = max(before, state, key=rank.__getitem__)
            states[schema_id] = (worst, sorted({*names, *unchecked}))
    return sorted((schema, state, names) for schema, (state, names) in states.items())
