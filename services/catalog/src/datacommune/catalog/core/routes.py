"""The catalogue's own routes: a dataset, its history and metadata, and each version's bytes."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from datacommune.catalog import problems
from datacommune.catalog.access.deps import CurrentOrganization
from datacommune.catalog.core import datasets, downloads, downloads_count, metadata, schemas
from datacommune.catalog.core.hooks import HOOKS
from datacommune.catalog.deps import Session, SettingsDep
from datacommune.catalog.tables import Version
from datacommune.shared import fields
from datacommune.shared.http import FILE_RESPONSES, RuntimeDep
from datacommune.shared.process.runtime import Runtime
from datacommune.shared.storage import ObjectMissing

router = APIRouter(prefix="/api/v1")

Inline = Annotated[
    bool,
    Query(
        description="Afficher un fichier texte dans le navigateur (text/plain, dans son "
        "encodage) au lieu de l'enregistrer / show a text file in the browser (text/plain, in its "
        "encoding) instead of saving it"
    ),
]


# Here, in the PATCH and in the history: a version's ``rows`` (a feature's view) is there only
# when a feature adds it, and ``response_model_exclude_unset`` answers only the keys written.
@router.get(
    "/datasets/{slug}",
    tags=["jeux de données / datasets"],
    response_model=schemas.Dataset,
    response_model_exclude_unset=True,
)
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
    responses=FILE_RESPONSES,
    summary="Télécharger une version / download a version",
)
async def download(
    version_id: uuid.UUID, request: Request, runtime: RuntimeDep, inline: Inline = False
) -> Any:
    """The exact bytes that were published; HEAD, one ``Range`` (206) and ``If-None-Match``
    (304) as HTTP tools expect."""
    # The session is closed before the bytes flow: a slow reader must not hold the database.
    async with runtime.reader() as session:
        version = await datasets.get_version(session, version_id)
    return await _serve(version, request, runtime, inline=inline)


async def _serve(
    version: Version, request: Request, runtime: Runtime, *, inline: bool = False
) -> Response:
    """A version's bytes, counted once per download; a 503 problem before any byte if the
    object is gone."""
    if not await runtime.store.exists(version.object_key) and not await HOOKS.restore(
        runtime.sessionmaker, runtime.store, version
    ):
        raise problems.file_missing()
    response = downloads.response(
        downloads.published(version), runtime.store, f"{version.id}.bin", request, inline=inline
    )
    if downloads.counted(request, response):
        async with runtime.sessionmaker.begin() as session:
            await downloads_count.count(session, version.id)
    return response


@router.get(
    "/versions/{version_id}/original",
    tags=["jeux de données / datasets"],
    response_class=StreamingResponse,
    responses=FILE_RESPONSES,
    summary="Le fichier tel que déposé, avant corrections / the file as uploaded",
)
async def download_original(
    version_id: uuid.UUID, request: Request, runtime: RuntimeDep, inline: Inline = False
) -> Any:
    """The exact bytes the collectivité sent, kept beside their repaired version."""
    async with runtime.reader() as session:
        version = await datasets.get_version(session, version_id)
    original = downloads.original(version)
    if original is None:
        raise problems.not_repaired()
    if not await runtime.store.exists(original.object_key):
        raise problems.file_missing()
    return downloads.response(
        original, runtime.store, f"{version.id}-original.bin", request, inline=inline
    )


@router.get(
    "/versions/{version_id}/changes",
    tags=["jeux de données / datasets"],
    # The stored document is sent as it is, unparsed: the model only documents it.
    response_model=schemas.Changes,
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
    response_model=schemas.Dataset,
    response_model_exclude_unset=True,
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


@router.delete(
    "/datasets/{slug}",
    tags=["jeux de données / datasets"],
    status_code=204,
    summary="Retirer un jeu de données / withdraw a dataset",
)
async def withdraw_dataset(
    slug: fields.DatasetPath, org: CurrentOrganization, runtime: RuntimeDep
) -> Response:
    """No longer listed, searched, harvested nor pooled; its versions keep their addresses,
    and a new publication brings it back."""
    async with runtime.sessionmaker.begin() as session:
        dataset = await datasets.get(session, slug, owner=org.slug)
        if dataset.organization != org.slug:
            raise problems.not_yours(slug)
        await datasets.withdraw(session, dataset)
    return Response(status_code=204)


@router.get(
    "/datasets/{slug}/history",
    tags=["jeux de données / datasets"],
    response_model=schemas.History,
    response_model_exclude_unset=True,
)
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
    responses=FILE_RESPONSES,
    summary="La dernière version d'un fichier / a file's latest version",
)
async def download_latest(
    slug: fields.DatasetPath,
    key: fields.ResourcePath,
    request: Request,
    runtime: RuntimeDep,
    settings: SettingsDep,
) -> Any:
    """A URL that always serves the newest version (each version keeps its own URL too)."""
    async with runtime.reader() as session:
        version = datasets.latest(await datasets.get(session, slug), key)
    response = await _serve(version, request, runtime)
    response.headers["Content-Location"] = settings.http.public_url + datasets.download_path(
        version.id
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


@router.get(
    "/versions/{version_id}/downloads",
    tags=["jeux de données / datasets"],
    response_model=schemas.Downloads,
)
async def version_downloads(version_id: uuid.UUID, session: Session) -> dict[str, Any]:
    """How many times a version was downloaded, day by day (a counter, nothing about who)."""
    version = await datasets.get_version(session, version_id)
    days = await downloads_count.per_day(session, version.id)
    return {"version": str(version.id), "total": sum(d["count"] for d in days), "days": days}
