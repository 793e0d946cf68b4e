"""catalog's HTTP routes: organizations (admin), datasets and downloads (public)."""

import uuid
from typing import Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from datacommune.catalog import datasets, downloads, organizations, problems
from datacommune.catalog.deps import Admin, Session, SettingsDep
from datacommune.shared.http import RuntimeDep
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
async def get_organization(slug: str, session: Session) -> dict[str, Any]:
    """One organization."""
    return organizations.describe(await organizations.get(session, slug))


@router.get("/datasets", tags=["jeux de données / datasets"])
async def list_datasets(
    session: Session,
    settings: SettingsDep,
    q: str | None = Query(default=None, max_length=200, description="Mots cherchés / words"),
    organization: str | None = Query(default=None, max_length=64),
    page: int = Query(default=1, ge=1),
    page_size: int = Query(default=20, ge=1, le=1000),
) -> dict[str, Any]:
    """Published datasets, newest first."""
    total, found = await datasets.search(
        session, q=q, organization=organization, page=page, page_size=page_size
    )
    url = settings.http.public_url
    return {
        "total": total,
        "page": page,
        "page_size": page_size,
        "items": [datasets.describe(d, url, full=False) for d in found],
    }


@router.get("/datasets/{slug}", tags=["jeux de données / datasets"])
async def get_dataset(slug: str, session: Session, settings: SettingsDep) -> dict[str, Any]:
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
    if not await runtime.store.exists(version.object_key):
        raise problems.file_missing()
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
