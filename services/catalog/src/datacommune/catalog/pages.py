"""Pages for people: the catalogue as server-rendered HTML, in French with an English switch.

No JavaScript and no CDN: every asset is served from ``/static``. Every text a collectivité wrote
goes through Jinja2's autoescape; a description's Markdown is the one already rendered safely by
``metadata.render``.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.catalog import (
    datasets,
    metadata,
    organizations,
    problems,
    rowquery,
    rowtables,
    search,
)
from datacommune.catalog.deps import Session, SettingsDep
from datacommune.catalog.tables import Dataset, Organization, Version
from datacommune.shared.problems import NotFound

HERE = Path(__file__).parent / "pages"
PREVIEW_ROWS = 20
# Nothing but our own styles, images and forms: an injected tag could not load or send anything.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)

LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "site": "Données ouvertes du territoire",
        "skip": "Aller au contenu",
        "switch": "English",
        "language": "Langue",
        "search": "Chercher un jeu de données",
        "search_button": "Chercher",
        "results": "résultat(s)",
        "no_results": "Aucun jeu de données ne correspond.",
        "filters": "Affiner",
        "remove": "retirer le filtre",
        "next": "Page suivante",
        "organization": "Organisation",
        "theme": "Thème",
        "licence": "Licence",
        "schema": "Schéma",
        "format": "Format",
        "keywords": "Mots-clés",
        "resources": "Fichiers",
        "version": "Version",
        "date": "Date",
        "size": "Taille",
        "download": "Télécharger",
        "original": "Fichier d'origine (avant corrections)",
        "exports": "Exporter les lignes",
        "preview": "Aperçu des premières lignes",
        "rows_total": "lignes",
        "conforms": "Conforme au schéma",
        "not_conforms": "Non conforme au schéma",
        "api": "Utiliser l'API",
        "kind": "Type",
        "parent": "Territoire",
        "datasets": "Jeux de données",
        "not_found": "Page introuvable",
        "not_found_text": "Rien ici : le jeu de données ou l'organisation n'existe pas, ou pas encore.",
        "home": "Retour à l'accueil",
        "bytes": "octets",
        "remote": "Fichier hébergé ailleurs",
    },
    "en": {
        "site": "The territory's open data",
        "skip": "Skip to content",
        "switch": "Français",
        "language": "Language",
        "search": "Search for a dataset",
        "search_button": "Search",
        "results": "result(s)",
        "no_results": "No dataset matches.",
        "filters": "Refine",
        "remove": "remove the filter",
        "next": "Next page",
        "organization": "Organization",
        "theme": "Theme",
        "licence": "Licence",
        "schema": "Schema",
        "format": "Format",
        "keywords": "Keywords",
        "resources": "Files",
        "version": "Version",
        "date": "Date",
        "size": "Size",
        "download": "Download",
        "original": "Original file (before repairs)",
        "exports": "Export the rows",
        "preview": "First rows",
        "rows_total": "rows",
        "conforms": "Conforms to the schema",
        "not_conforms": "Does not conform to the schema",
        "api": "Use the API",
        "kind": "Kind",
        "parent": "Territory",
        "datasets": "Datasets",
        "not_found": "Page not found",
        "not_found_text": "Nothing here: the dataset or organization does not exist, or not yet.",
        "home": "Back to the home page",
        "bytes": "bytes",
        "remote": "File hosted elsewhere",
    },
}
KINDS = {
    "fr": {"commune": "Commune", "epci": "Intercommunalité (EPCI)", "departement": "Département"},
    "en": {"commune": "Municipality", "epci": "Inter-municipality (EPCI)", "departement": "County"},
}

_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

router = APIRouter(tags=["pages (HTML)"], default_response_class=HTMLResponse)
router.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


def _language(lang: str | None) -> str:
    return "en" if lang == "en" else "fr"


def _linker(lang: str) -> Callable[..., str]:
    """A function the templates call to build a link that keeps the language."""

    def link(path: str, params: dict[str, Any] | None = None) -> str:
        pairs = [(k, v) for k, v in (params or {}).items() if v not in (None, "")]
        if lang == "en":
            pairs.append(("lang", "en"))
        return f"{path}?{urlencode(pairs)}" if pairs else path

    return link


def _render(
    request: Request, name: str, lang: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    other = "fr" if lang == "en" else "en"
    switch = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    if other == "en":
        switch.append(("lang", "en"))
    html = _templates.get_template(name).render(
        lang=lang,
        t=LABELS[lang],
        link=_linker(lang),
        switch_url=request.url.path + ("?" + urlencode(switch) if switch else ""),
        **context,
    )
    return HTMLResponse(
        html,
        status_code=status_code,
        headers={"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"},
    )


def _not_found(request: Request, lang: str) -> HTMLResponse:
    return _render(request, "not_found.html", lang, status_code=404)


def _web_link(url: str | None) -> str | None:
    """Only web addresses become links (a harvested URL could say ``javascript:``)."""
    return url if url and url.startswith(("https://", "http://")) else None


@router.get("/", summary="Accueil : chercher un jeu de données / home: search the catalogue")
async def home(
    request: Request,
    session: Session,
    q: str | None = Query(default=None, max_length=200),
    organization: str | None = Query(default=None, max_length=64),
    schema: str | None = Query(default=None, max_length=200),
    theme: str | None = Query(default=None, max_length=16),
    licence: str | None = Query(default=None, max_length=64),
    format: str | None = Query(default=None, max_length=16),
    cursor: str | None = Query(default=None, max_length=500),
    lang: str | None = Query(default=None, max_length=8),
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
    try:
        results = await search.find(
            session,
            search.Query(
                q=q or "",
                organization=organization,
                theme=theme,
                licence=licence,
                schema=schema,
                format=format,
                cursor=cursor,
                limit=20,
            ),
        )
    except ValueError as exc:
        raise problems.bad_cursor() from exc
    names = {o.slug: o.name for o in await organizations.list_all(session)}
    labels = {"organization": names, "theme": metadata.THEMES, "licence": metadata.LICENCES}
    return _render(
        request,
        "home.html",
        language,
        q=q or "",
        filters=filters,
        results=results,
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
    slug: str,
    request: Request,
    session: Session,
    settings: SettingsDep,
    lang: str | None = Query(default=None, max_length=8),
) -> HTMLResponse:
    """Description, files and versions, exports, a preview of the rows, and API snippets."""
    language = _language(lang)
    try:
        dataset = await datasets.get(session, slug)
    except NotFound:
        return _not_found(request, language)
    public_url = settings.http.public_url
    body = datasets.describe(dataset, public_url, full=True)
    previews = {
        str(resource.versions[-1].id): await _preview(session, resource.versions[-1])
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
    return _render(
        request,
        "dataset.html",
        language,
        dataset=body,
        description=Markup(body["description_html"]),
        organization_name=org.name if org else dataset.organization,
        badges=_badges(dataset),
        previews=previews,
        rows_url=rows_url,
        web_link=_web_link,
    )


@router.get(
    "/organisations/{slug}",
    summary="La page d'une organisation / an organization's page",
    responses={404: {"content": {"text/html": {}}}},
)
async def organization_page(
    slug: str,
    request: Request,
    session: Session,
    cursor: str | None = Query(default=None, max_length=500),
    lang: str | None = Query(default=None, max_length=8),
) -> HTMLResponse:
    """Who the organization is, and its public datasets."""
    language = _language(lang)
    try:
        org = await organizations.get(session, slug)
    except NotFound:
        return _not_found(request, language)
    parent = await session.get(Organization, org.parent) if org.parent else None
    try:
        results = await search.find(
            session, search.Query(organization=org.slug, sort="date", cursor=cursor, limit=50)
        )
    except ValueError as exc:
        raise problems.bad_cursor() from exc
    return _render(
        request,
        "organization.html",
        language,
        org=org,
        kind=KINDS[language].get(org.kind, org.kind),
        parent=parent,
        results=results,
    )


def _badges(dataset: Dataset) -> list[tuple[str, bool]]:
    """Each schema the latest files claim, and whether all of them conform to it."""
    conforming: dict[str, bool] = {}
    for resource in dataset.resources:
        if resource.versions and resource.versions[-1].schema_id:
            latest = resource.versions[-1]
            schema_id = str(latest.schema_id)
            conforming[schema_id] = conforming.get(schema_id, True) and bool(latest.valid)
    return sorted(conforming.items())


async def _preview(session: AsyncSession, version: Version) -> dict[str, Any] | None:
    """The first rows of a version whose table is loaded (None otherwise)."""
    table = version.row_table
    if table is None or table.status != "ready" or table.columns is None:
        return None
    query = rowquery.parse([("_size", str(PREVIEW_ROWS))], table.columns)
    page = await rowquery.page(session, rowtables.table(version.id, table.columns), query)
    return {
        "columns": [c["name"] for c in query.selected],
        "rows": page.rows,
        "total": table.row_count,
    }
