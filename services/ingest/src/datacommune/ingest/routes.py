"""ingest's HTTP routes: post a file, follow it."""

import uuid
from typing import Any, Literal

import structlog
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from datacommune.ingest import problems, schemas, uploads, views
from datacommune.ingest.deps import (
    CurrentOrganization,
    CurrentPrincipal,
    NodeStatusDep,
    ReadingOrganization,
    SettingsDep,
)
from datacommune.ingest.form import receive
from datacommune.shared.http import RuntimeDep
from datacommune.shared.report import Report
from datacommune.shared.storage import ObjectMissing

log = structlog.get_logger()
router = APIRouter(prefix="/api/v1", tags=["dépôts / uploads"])

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "dataset"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "dataset": {"type": "string", "example": "subventions-2024"},
                        "schema": {"type": "string", "example": "scdl-subventions"},
                        "title": {"type": "string", "example": "Subventions 2024"},
                        "encoding": {
                            "type": "string",
                            "example": "cp1252",
                            "description": "Encodage, si la détection se trompe / override",
                        },
                        "delimiter": {
                            "type": "string",
                            "enum": [",", ";", "|", "tab"],
                            "description": "Séparateur, si la détection se trompe / override",
                        },
                        "on_behalf_of": {
                            "type": "string",
                            "example": "roques",
                            "description": "Publier pour une commune qui vous a délégué "
                            "(jeton admin de l'EPCI ou du département) / publish for an "
                            "organization that delegated it to yours",
                        },
                        "release": {
                            "type": "string",
                            "format": "uuid",
                            "description": "Publication programmée : le fichier reste sous "
                            "embargo jusqu'à son ouverture / the release it waits for",
                        },
                        "fix": {
                            "type": "boolean",
                            "description": "Publier la version corrigée (corrections sûres), "
                            "l'original gardé à côté / publish the safely repaired file",
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "/uploads",
    status_code=202,
    response_model=schemas.UploadReceived,
    summary="Déposer un fichier / upload a file",
    openapi_extra=UPLOAD_BODY,
    responses={
        200: {
            "model": schemas.UploadReceived,
            "description": "Ces octets étaient déjà déposés / already uploaded",
        }
    },
)
async def post_upload(
    request: Request,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Stream the file to storage and answer once it is durably recorded."""
    form = await receive(
        request.headers,
        request.stream(),
        staging=settings.staging_dir,
        max_bytes=settings.max_upload_bytes,
    )
    try:
        upload, created = await uploads.accept(
            runtime.sessionmaker,
            runtime.reader,
            runtime.store,
            principal=principal,
            form=form,
            source=settings.source,
        )
    finally:
        form.discard()
    if created:
        runtime.relay.wake()
        log.info("file_received", upload_id=str(upload.id), size=upload.size)
    body = views.describe(upload, public_url=settings.http.public_url)
    body["duplicate"] = not created
    return JSONResponse(
        body, status_code=202 if created else 200, headers={"Location": body["status_url"]}
    )


@router.get(
    "/uploads/{upload_id}",
    response_model=schemas.UploadWithReport,
    summary="Suivre un dépôt / follow an upload",
)
async def get_upload(
    upload_id: uuid.UUID,
    organization: ReadingOrganization,
    runtime: RuntimeDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Where the upload stands, with its validation report once there is one."""
    async with runtime.reader() as session:
        upload = await views.get_upload(
            session, organization=organization.slug, upload_id=upload_id
        )
    body = views.describe(upload, public_url=settings.http.public_url)
    body["report"] = await views.report_of(runtime.store, upload)
    return body


@router.get(
    "/whoami",
    response_model=schemas.Whoami,
    summary="L'organisation de ce jeton / this token's organization",
)
async def whoami(organization: ReadingOrganization) -> dict[str, str]:
    """Lets a client check its token before sending a large file."""
    return {"organization": organization.slug, "name": organization.name}


REPORT_FORMATS = {
    "json": "application/json",
    "html": "text/html; charset=utf-8",
    "validata": "application/json",
}


@router.get(
    "/uploads/{upload_id}/report",
    summary="Le rapport de validation / the validation report",
    response_class=Response,
    # The stored bytes are sent as they are: the model only documents format=json.
    responses={
        200: {
            "model": Report,
            "content": {"text/html": {}, "application/json": {}},
            "description": "format=json : le rapport ; html : la page ; validata : la forme "
            "de Validata (valid, stats, tasks[0].errors) / json: the report; html: the page; "
            "validata: Validata's shape",
        }
    },
)
async def get_report(
    upload_id: uuid.UUID,
    organization: ReadingOrganization,
    runtime: RuntimeDep,
    format: Literal["json", "html", "validata"] = Query(
        default="json", description="json (le nôtre), html (page en français), validata"
    ),
) -> Response:
    """The report as JSON, as a page in plain French, or in Validata's shape."""
    async with runtime.reader() as session:
        upload = await views.get_upload(
            session, organization=organization.slug, upload_id=upload_id
        )
    key = upload.report_key if format == "json" else (upload.report_renditions or {}).get(format)
    if key is None:
        raise problems.report_not_ready(upload.status)
    try:
        content = await runtime.store.get_bytes(key)
    except ObjectMissing:
        raise problems.report_not_ready(upload.status) from None
    headers = {"X-Content-Type-Options": "nosniff"}
    if format == "html":
        # The page validate wrote, escaped; its own inline style and nothing else may load.
        headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
        )
    return Response(content, media_type=REPORT_FORMATS[format], headers=headers)


class MappingIn(BaseModel):
    """A column mapping to confirm; without ``columns``, the one the report proposed."""

    columns: dict[str, str] | None = Field(
        default=None,
        max_length=1000,
        examples=[{"COLL_NOM": "nomAttribuant", "SUB_MONTANT": "montant"}],
        description="Colonne du fichier → champ du schéma / file column -> schema field",
    )


@router.post(
    "/uploads/{upload_id}/mapping",
    status_code=202,
    response_model=schemas.UploadRemapped,
    summary="Confirmer la correspondance de colonnes / confirm the column mapping",
    responses={
        200: {
            "model": schemas.UploadRemapped,
            "description": "Déjà vérifié avec cette correspondance / already done",
        }
    },
)
async def confirm_mapping(
    upload_id: uuid.UUID,
    organization: CurrentOrganization,
    runtime: RuntimeDep,
    settings: SettingsDep,
    body: MappingIn | None = None,
) -> JSONResponse:
    """Remember the mapping for this dataset and schema, and check this file again with it."""
    async with runtime.reader() as session:
        upload = await views.get_upload(
            session, organization=organization.slug, upload_id=upload_id
        )
    if upload.organization != organization.slug:
        # A mapping is the dataset owner's decision, even on a file another sent for it.
        raise problems.not_owner(upload.organization)
    columns = (
        body.columns
        if body and body.columns
        else await views.proposed_mapping(runtime.store, upload)
    )
    if any(len(k) > 200 or len(v) > 200 for k, v in columns.items()):
        raise problems.InvalidField.too_long("columns", 200)
    again, created = await uploads.confirm_mapping(
        runtime.sessionmaker,
        runtime.reader,
        upload=upload,
        columns=columns,
        source=settings.source,
    )
    if created:
        runtime.relay.wake()
    answer = views.describe(again, public_url=settings.http.public_url)
    answer["mapping"] = columns
    return JSONResponse(answer, status_code=202 if created else 200)


@router.get(
    "/nodes",
    response_model=schemas.Nodes,
    tags=["fédération / federation"],
    summary="Les nœuds des collectivités et leur retard / the nodes and their backlog",
)
async def nodes(status: NodeStatusDep) -> dict[str, Any]:
    """On the hub: each ingest node, whether its link is up, and what waits on it (files,
    age of the oldest). Empty on a platform without nodes."""
    return {"items": await status.describe() if status else []}
