"""What a client or a page reads of an upload: the upload itself (its organization's, or one it
sent for another, only), its report, the column mapping the report proposed, its JSON."""

import json
import uuid
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.ingest import problems
from datacommune.ingest.tables import (
    Upload,
)
from datacommune.shared.storage import ObjectMissing, ObjectStore

log = structlog.get_logger()


async def get_upload(session: AsyncSession, *, organization: str, upload_id: uuid.UUID) -> Upload:
    """An upload of this organization (or one it sent for another); 404 for any other, so
    ids reveal nothing."""
    upload = await session.get(Upload, upload_id)
    if upload is None or organization not in (upload.organization, upload.uploaded_by):
        raise problems.upload_not_found()
    return upload


async def report_of(store: ObjectStore, upload: Upload) -> dict[str, Any] | None:
    """The upload's validation report, once there is one."""
    if not upload.report_key:
        return None
    try:
        report: dict[str, Any] = json.loads(await store.get_bytes(upload.report_key))
    except ObjectMissing:
        log.warning("report_missing", key=upload.report_key)
        return None
    return report


async def proposed_mapping(store: ObjectStore, upload: Upload) -> dict[str, str]:
    """The column mapping the report proposed; a 409 problem when it proposed none."""
    report = await report_of(store, upload) or {}
    proposed = (report.get("mapping") or {}).get("proposed") or []
    if not proposed:
        raise problems.no_mapping_proposed()
    return {p["column"]: p["field"] for p in proposed}


def describe(upload: Upload, *, public_url: str) -> dict[str, Any]:
    """The JSON a client reads about an upload."""
    return {
        "id": str(upload.id),
        "status": upload.status,
        "status_url": f"{public_url}/api/v1/uploads/{upload.id}",
        # The report for a person (the organization's space, signed in with its token).
        "page_url": f"{public_url}/espace/depots/{upload.id}",
        "organization": upload.organization,
        "dataset": upload.dataset,
        "title": upload.title,
        "schema": upload.schema_id,
        "filename": upload.filename,
        "media_type": upload.media_type,
        "size": upload.size,
        "sha256": upload.sha256,
        "summary": upload.summary,
        "detail": upload.detail,
        "download_url": upload.download_url,
        "created_at": upload.created_at.isoformat(),
        "updated_at": upload.updated_at.isoformat(),
    }
