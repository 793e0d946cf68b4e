"""Pages for people: the catalogue as server-rendered HTML, in French with an English switch.

No JavaScript and no CDN: every asset is served from ``/static``. Every text a collectivité wrote
goes through Jinja2's autoescape; a description's Markdown is the one already rendered safely by
``metadata.render``.
"""

import math
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from datacommune.catalog import problems, search
from datacommune.catalog.access import organizations
from datacommune.catalog.core import datasets, metadata
from datacommune.catalog.deps import Session, SettingsDep
from datacommune.catalog.rows import columns as rowtables
from datacommune.catalog.rows import exports
from datacommune.catalog.rows import query as rowquery
from datacommune.catalog.rows.deps import RowsDep
from datacommune.catalog.rows.store import RowsMissing, RowStore
from datacommune.catalog.settings import Settings
from datacommune.catalog.tables import Dataset, Organization, Version
from datacommune.shared import events, fields, web
from datacommune.shared.problems import PAGE_RESPONSES, NotFound, Problem

HERE = Path(__file__).parent
PREVIEW_ROWS = 20
# The row API's operators, as the filter form names them.
OPERATOR_LABELS = {
    "fr": {
        "exact": "est égal à",
        "ne": "est différent de",
        "contains": "contient",
        "gt": "est supérieur à",
        "gte": "est supérieur ou égal à",
        "lt": "est inférieur à",
        "lte": "est inférieur ou égal à",
    },
    "en": {
        "exact": "equals",
        "ne": "is not",
        "contains": "contains",
        "gt": "is greater than",
        "gte": "is at least",
        "lt": "is less than",
        "lte": "is at most",
    },
}

LABELS: dict[str, dict[str, str]] = {
    "fr": {
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
        "filter_rows": "Filtrer les lignes",
        "coverage_link": "Couverture des schémas nationaux",
        "requests_link": "Demandes de données",
        "coming_link": "À paraître",
        "filter_column": "Colonne",
        "filter_operator": "Condition",
        "filter_value": "Valeur",
        "filter_apply": "Filtrer",
        "filter_reset": "Tout afficher",
        "filtered_rows": "Lignes qui correspondent au filtre",
        "bad_filter": "Ce filtre n'a pas pu être appliqué",
        "next_rows": "Lignes suivantes",
        "map": "Carte",
        "map_points": "points",
        "map_alt": "Carte des lignes qui ont des coordonnées",
        "map_first": "les premières lignes seulement",
        "map_bounds": "Emprise (longitude, latitude)",
        "rows_total": "lignes",
        "conforms": "Conforme au schéma",
        "not_conforms": "Non conforme au schéma",
        "api": "Utiliser l'API",
        "kind": "Type",
        "parent": "Territoire",
        "datasets": "Jeux de données",
        "bytes": "octets",
        "remote": "Fichier hébergé ailleurs",
    },
    "en": {
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
        "filter_rows": "Filter the rows",
        "coverage_link": "Coverage of the national schemas",
        "requests_link": "Data requests",
        "coming_link": "Coming releases",
        "filter_column": "Column",
        "filter_operator": "Condition",
        "filter_value": "Value",
        "filter_apply": "Filter",
        "filter_reset": "Show all",
        "filtered_rows": "Rows matching the filter",
        "bad_filter": "This filter could not be applied",
        "next_rows": "Next rows",
        "map": "Map",
        "map_points": "points",
        "map_alt": "Map of the rows that have coordinates",
        "map_first": "the first rows only",
        "map_bounds": "Extent (longitude, latitude)",
        "rows_total": "rows",
        "conforms": "Conforms to the schema",
        "not_conforms": "Does not conform to the schema",
        "api": "Use the API",
        "kind": "Kind",
        "parent": "Territory",
        "datasets": "Datasets",
        "bytes": "bytes",
        "remote": "File hosted elsewhere",
    },
}
KINDS = {
    "fr": {"commune": "Commune", "epci": "Intercommunalité (EPCI)", "departement": "Département"},
    "en": {"commune": "Municipality", "epci": "Inter-municipality (EPCI)", "departement": "County"},
}

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
    try:
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
        str(resource.versions[-1].id): await _map(rows, resource.versions[-1])
        for resource in dataset.resources
        if resource.versions
    }
    # The filter applies to the version its form was for (each file has its own columns).
    previews = {
        str(resource.versions[-1].id): await _preview(
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


MAP_POINTS = 5000
MAP_WIDTH, MAP_HEIGHT, MAP_MARGIN = 640, 420, 12


# A version's rows never change: its drawing is kept, for the versions seen last.
_MAPS: OrderedDict[uuid.UUID, dict[str, Any] | None] = OrderedDict()
MAPS_KEPT = 128


async def _map(rows: RowStore, version: Version) -> dict[str, Any] | None:
    """The points of a version with coordinates, drawn as an SVG the server writes: no script,
    no tile server, nothing loaded from elsewhere (the first ``MAP_POINTS`` rows)."""
    table = version.row_table
    if table is None or table.status != "ready" or not table.columns or not table.shape:
        return None
    if version.id in _MAPS:
        _MAPS.move_to_end(version.id)
        return _MAPS[version.id]
    try:
        drawn = await _draw(rows, version)
    except RowsMissing:
        return None  # the row API queues it again; the page shows no map meanwhile
    _MAPS[version.id] = drawn
    if len(_MAPS) > MAPS_KEPT:
        _MAPS.popitem(last=False)
    return drawn


async def _draw(rows: RowStore, version: Version) -> dict[str, Any] | None:
    table = version.row_table
    assert table is not None
    assert table.columns is not None
    shape = events.TableShape.model_validate(table.shape)
    reading = exports.geometry_reader(shape.geo, table.columns)
    if reading is None:
        return None
    geo_columns, make = reading
    tbl = rowtables.table(version.id, table.columns)
    selected = [tbl.c[c["column"]] for c in geo_columns]
    async with rows.reader(version.id)() as session:
        found = (
            await session.execute(sa.select(*selected).order_by(tbl.c._row).limit(MAP_POINTS))
        ).all()
    points = []
    for row in found:
        geometry = make(list(row))
        if geometry and geometry.get("type") == "Point":
            # GeoJSON allows an altitude, and a harvested geometry may be anything.
            xy = (geometry.get("coordinates") or [])[:2]
            if len(xy) == 2 and all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                for v in xy
            ):
                points.append((float(xy[0]), float(xy[1])))
    if not points:
        return None
    west, east = min(p[0] for p in points), max(p[0] for p in points)
    south, north = min(p[1] for p in points), max(p[1] for p in points)
    # Equirectangular, a degree of longitude shortened by the cosine of the middle latitude.
    shrink = math.cos(math.radians((south + north) / 2))
    width = max((east - west) * shrink, 1e-6)
    height = max(north - south, 1e-6)
    scale = min((MAP_WIDTH - 2 * MAP_MARGIN) / width, (MAP_HEIGHT - 2 * MAP_MARGIN) / height)
    # One path of zero-length strokes with round ends: a dot per point, in one element (a
    # tenth of the bytes and of the rendering time of 5,000 circles).
    path = "".join(
        f"M{MAP_MARGIN + (x - west) * shrink * scale:.1f} "
        f"{MAP_HEIGHT - MAP_MARGIN - (y - south) * scale:.1f}h0"
        for x, y in points
    )
    return {
        "width": MAP_WIDTH,
        "height": MAP_HEIGHT,
        "path": path,
        "count": len(points),
        "bounds": (round(west, 5), round(south, 5), round(east, 5), round(north, 5)),
        "truncated": len(points) >= MAP_POINTS,
    }


async def _preview(
    rows: RowStore, version: Version, wanted: list[tuple[str, str]]
) -> dict[str, Any] | None:
    """A page of the rows of a version whose table is loaded (None otherwise), filtered as
    asked; a filter the row API refuses is shown with its reason, over the first rows."""
    table = version.row_table
    if table is None or table.status != "ready" or table.columns is None:
        return None
    error = None
    try:
        query = rowquery.parse([("_size", str(PREVIEW_ROWS)), *wanted], table.columns)
    except Problem as problem:
        error = problem
        query = rowquery.parse([("_size", str(PREVIEW_ROWS))], table.columns)
    try:
        async with rows.reader(version.id)() as session:
            page = await rowquery.page(session, rowtables.table(version.id, table.columns), query)
    except RowsMissing:
        return None
    return {
        "columns": [c["name"] for c in query.selected],
        "rows": page.rows,
        "total": table.row_count,
        "filtered": bool(query.filters),
        "next_cursor": page.next_cursor,
        "error": error,
    }
