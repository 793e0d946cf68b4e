"""catalog's HTTP routes: organizations (admin), datasets and downloads (public)."""

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from datacommune.catalog import (
    datasets,
    dcat,
    downloads,
    downloads_count,
    metadata,
    organizations,
    problems,
    ratelimit,
    requests,
    search,
)
from datacommune.catalog.deps import Admin, CurrentOrganization, Session, SettingsDep
from datacommune.catalog.tables import Version
from datacommune.shared import fields
from datacommune.shared.http import RuntimeDep
from datacommune.shared.runtime import Runtime
from datacommune.shared.storage import ObjectMissing

router = APIRouter(prefix="/api/v1")


@router.post(
    "/organizations",
    status_code=201,
    dependencies=[Admin],
    tags=["organisations / organizations"],
    summary="Inscrire une organisation / register an organization",
)
async def create_organization(
    data: organizations.OrganizationIn, runtime: RuntimeDep, settings: SettingsDep
) -> dict[str, Any]:
    """Register a collectivité; its token is in the answer, and only there."""
    async with runtime.sessionmaker.begin() as session:
        created = await organizations.create(session, data, source=settings.source)
    runtime.relay.wake()
    return created


@router.get("/organizations", tags=["organisations / organizations"])
async def list_organizations(session: Session) -> dict[str, Any]:
    """Every organization that publishes here."""
    return {"items": [organizations.describe(o) for o in await organizations.list_all(session)]}


@router.get("/organizations/{slug}", tags=["organisations / organizations"])
async def get_organization(slug: fields.OrganizationPath, session: Session) -> dict[str, Any]:
    """One organization."""
    return organizations.describe(await organizations.get(session, slug))


@router.get("/datasets", tags=["jeux de données / datasets"])
async def list_datasets(
    session: Session,
    settings: SettingsDep,
    q: str | None = fields.line_query(200, "Mots cherchés / words"),
    organization: fields.OrganizationQuery = None,
    territory: fields.TerritoryQuery = None,
    schema: str | None = fields.line_query(200),
    theme: str | None = fields.line_query(16),
    licence: str | None = fields.line_query(64),
    format: str | None = fields.line_query(16),
    sort: Literal["relevance", "date"] = "relevance",
    cursor: str | None = fields.line_query(500),
    page_size: int = Query(default=20, ge=1, le=1000),
) -> dict[str, Any]:
    """Search in French (accents, case and word endings ignored), with filters and facets.

    Pages follow ``next_cursor``: there is no ceiling on how far one can go.
    """
    try:
        results = await search.find(
            session,
            search.Query(
                q=q or "",
                organization=organization or None,
                territory=territory or None,
                schema=schema,
                theme=theme,
                licence=licence,
                format=format,
                sort=sort,
                cursor=cursor,
                limit=page_size,
            ),
        )
    except ValueError as exc:
        raise problems.bad_cursor() from exc
    url = settings.http.public_url
    return {
        "total": results.total,
        "items": [datasets.describe(d, url, full=False) for d in results.items],
        "facets": results.facets,
        "next_cursor": results.next_cursor,
    }


@router.get("/datasets/{slug}", tags=["jeux de données / datasets"])
async def get_dataset(
    slug: fields.DatasetPath, session: Session, settings: SettingsDep
) -> dict[str, Any]:
    """One dataset with its resources and all their versions."""
    dataset = await datasets.get(session, slug)
    return datasets.describe(dataset, settings.http.public_url, full=True)


@router.get(
    "/versions/{version_id}/download",
    tags=["jeux de données / datasets"],
    response_class=StreamingResponse,
    summary="Télécharger une version / download a version",
)
async def download(version_id: uuid.UUID, runtime: RuntimeDep) -> Any:
    """The exact bytes that were published."""
    # The session is closed before the bytes flow: a slow reader must not hold the database.
    async with runtime.reader() as session:
        version = await datasets.get_version(session, version_id)
    return await _serve(version, runtime)


async def _serve(version: Version, runtime: Runtime) -> StreamingResponse:
    """A version's bytes, counted once; a 503 problem before any byte if the object is gone."""
    if not await runtime.store.exists(version.object_key):
        raise problems.file_missing()
    async with runtime.sessionmaker.begin() as session:
        await downloads_count.count(session, version.id)
    return downloads.response(
        downloads.published(version), runtime.store, fallback=f"{version.id}.bin"
    )


@router.get(
    "/versions/{version_id}/original",
    tags=["jeux de données / datasets"],
    response_class=StreamingResponse,
    summary="Le fichier tel que déposé, avant corrections / the file as uploaded",
)
async def download_original(version_id: uuid.UUID, runtime: RuntimeDep) -> Any:
    """The exact bytes the collectivité sent, kept beside their repaired version."""
    async with runtime.reader() as session:
        version = await datasets.get_version(session, version_id)
    original = downloads.original(version)
    if original is None:
        raise problems.not_repaired()
    if not await runtime.store.exists(original.object_key):
        raise problems.file_missing()
    return downloads.response(original, runtime.store, fallback=f"{version.id}-original.bin")


@router.get(
    "/versions/{version_id}/changes",
    tags=["jeux de données / datasets"],
    summary="Les corrections faites, cellule par cellule / every repair, cell by cell",
)
async def get_changes(version_id: uuid.UUID, runtime: RuntimeDep) -> Response:
    """The full change list of a repaired version."""
    async with runtime.reader() as session:
        version = await datasets.get_version(session, version_id)
    if not version.changes_key:
        raise problems.not_repaired()
    try:
        content = await runtime.store.get_bytes(version.changes_key)
    except ObjectMissing:
        raise problems.file_missing() from None
    return Response(content, media_type="application/json")


@router.patch(
    "/datasets/{slug}",
    tags=["jeux de données / datasets"],
    summary="Décrire un jeu de données (DCAT-AP) / describe a dataset",
)
async def patch_dataset(
    slug: fields.DatasetPath,
    changes: metadata.DatasetPatch,
    org: CurrentOrganization,
    runtime: RuntimeDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Title, description (Markdown), keywords, theme, licence, contact, coverage, frequency."""
    async with runtime.sessionmaker.begin() as session:
        dataset = await datasets.get(session, slug, owner=org.slug)
        if dataset.organization != org.slug:
            raise problems.not_yours(slug)
        dataset = await datasets.patch(session, dataset, changes)
        return datasets.describe(dataset, settings.http.public_url, full=True)


@router.get("/datasets/{slug}/history", tags=["jeux de données / datasets"])
async def dataset_history(
    slug: fields.DatasetPath, session: Session, settings: SettingsDep
) -> dict[str, Any]:
    """Every version ever published, newest first."""
    dataset = await datasets.get(session, slug)
    return {"items": datasets.history(dataset, settings.http.public_url)}


@router.get(
    "/datasets/{slug}/resources/{key}/latest",
    tags=["jeux de données / datasets"],
    response_class=StreamingResponse,
    summary="La dernière version d'un fichier / a file's latest version",
)
async def download_latest(
    slug: fields.DatasetPath, key: fields.ResourcePath, runtime: RuntimeDep, settings: SettingsDep
) -> Any:
    """A URL that always serves the newest version (each version keeps its own URL too)."""
    async with runtime.reader() as session:
        version = datasets.latest(await datasets.get(session, slug), key)
    response = await _serve(version, runtime)
    response.headers["Content-Location"] = settings.http.public_url + datasets.download_path(
        version.id
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


@router.get("/versions/{version_id}/downloads", tags=["jeux de données / datasets"])
async def version_downloads(version_id: uuid.UUID, session: Session) -> dict[str, Any]:
    """How many times a version was downloaded, day by day (a counter, nothing about who)."""
    version = await datasets.get_version(session, version_id)
    days = await downloads_count.per_day(session, version.id)
    return {"version": str(version.id), "total": sum(d["count"] for d in days), "days": days}


@router.get(
    "/catalog.{extension}",
    tags=["moissonnage / harvesting"],
    response_class=Response,
    responses={200: {"content": {"application/ld+json": {}, "text/turtle": {}}}},
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
        page=page,
        page_size=page_size,
        title=settings.catalog_title,
    )
    media_type = "text/turtle" if extension == "ttl" else "application/ld+json"
    return Response(dcat.serialize(graph, extension), media_type=f"{media_type}; charset=utf-8")


@router.get(
    "/datasets/{slug}/datapackage.json",
    tags=["moissonnage / harvesting"],
    summary="Le jeu de données en Data Package / the dataset as a Data Package",
)
async def datapackage(
    slug: fields.DatasetPath, session: Session, settings: SettingsDep
) -> dict[str, Any]:
    """A Frictionless Data Package: ``frictionless validate`` checks it against its schemas."""
    dataset = await datasets.get(session, slug)
    return datasets.datapackage(dataset, settings.http.public_url, settings.validate_public_url)


@router.post("/requests", status_code=201, tags=["demandes / requests"])
async def create_request(data: requests.RequestIn, runtime: RuntimeDep) -> dict[str, Any]:
    """Ask for data a territory lacks (« les délibérations de Roques »)."""
    async with runtime.sessionmaker.begin() as session:
        created = await requests.create(session, data)
        return requests.describe(created, 0)


@router.get("/requests", tags=["demandes / requests"])
async def list_requests(
    session: Session, territory: fields.TerritoryQuery = None
) -> dict[str, Any]:
    """Requests, most wanted first; a territory includes the organizations below it."""
    return {"items": await requests.ranked(session, territory or None)}


@router.post("/requests/{request_id}/votes", tags=["demandes / requests"])
async def vote(
    request_id: uuid.UUID,
    data: requests.VoteIn,
    runtime: RuntimeDep,
    request: Request,
) -> JSONResponse:
    """Vote for a request; the same client voting again changes nothing, and an address that
    votes too often is asked to wait (429)."""
    limit: ratelimit.RateLimit = request.app.state.vote_limit
    limit.check(request.client.host if request.client else "?")
    votes, created = await requests.vote(runtime.sessionmaker, request_id, data.voter)
    return JSONResponse({"votes": votes}, status_code=201 if created else 200)


@router.get("/coverage", tags=["demandes / requests"])
async def coverage(session: Session, territory: fields.TerritoryQuery = None) -> dict[str, Any]:
    """Organizations × standard schemas: who publishes what, who lacks what."""
    return await requests.coverage(session, territory or None)
