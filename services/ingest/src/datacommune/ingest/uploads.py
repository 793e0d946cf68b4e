"""The domain of ingest: accept an upload, then follow it as the other services report back."""

import codecs
import re
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.ingest import filenames, problems
from datacommune.ingest.form import Form
from datacommune.ingest.tables import Dataset, Organization, Outbox, Upload
from datacommune.shared import events
from datacommune.shared.outbox import enqueue
from datacommune.shared.storage import ObjectStore

DATASET_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,99}$")

# Statuses only move forward; events from different streams may arrive out of order.
RANK = {
    "received": 0,
    "validating": 1,
    "valid": 2,
    "invalid": 2,
    "published": 3,
    "scheduled": 3,
    "rejected": 3,
}


def object_key(sha256: str) -> str:
    """Files are stored by content: the same bytes are stored once, and never overwritten."""
    return f"files/sha256/{sha256[:2]}/{sha256}"


async def accept(
    sessionmaker: async_sessionmaker[AsyncSession],
    reader: async_sessionmaker[AsyncSession],
    store: ObjectStore,
    *,
    organization: Organization,
    form: Form,
    source: str,
) -> tuple[Upload, bool]:
    """Store the staged file and record the upload with its ``file.received`` event.

    Returns the upload and whether it is new: the same bytes posted again to the same dataset
    (for the same schema) give back the first upload. The object is stored before the row is
    committed, so an upload that was answered with 2xx always has its file.
    """
    staged = form.file
    if staged is None:
        raise problems.InvalidField.missing("file")
    if staged.size == 0:
        raise problems.EmptyFile.make()
    dataset = form.fields.get("dataset", "")
    if not dataset:
        raise problems.InvalidField.missing("dataset")
    if not DATASET_SLUG.match(dataset):
        raise problems.InvalidField.dataset_slug(dataset)
    schema_id = form.fields.get("schema") or None
    title = form.fields.get("title") or None
    for name, value, limit in (("schema", schema_id, 200), ("title", title, 300)):
        if value is not None and len(value) > limit:
            raise problems.InvalidField.too_long(name, limit)
    encoding, delimiter = reading_overrides(form.fields)
    fix = form.fields.get("fix", "").strip().lower() in {"1", "true", "oui", "yes", "on"}

    async def known(session: AsyncSession) -> Upload | None:
        """Refuse another organization's dataset; find these very bytes if already here."""
        owner = await session.scalar(select(Dataset.organization).where(Dataset.slug == dataset))
        if owner is not None and owner != organization.slug:
            raise problems.dataset_of_another(dataset, owner)
        return await _same_bytes(
            session, dataset, staged.sha256, variant(schema_id, encoding, delimiter, fix)
        )

    async with reader() as session:
        if existing := await known(session):
            return existing, False

    filename = filenames.escape(staged.filename)
    key = object_key(staged.sha256)
    media_type = filenames.media_type(filename, staged.content_type)
    if not await store.exists(key):
        await store.put_file(key, staged.path, media_type=media_type)

    upload = Upload(
        id=uuid.uuid4(),
        organization=organization.slug,
        dataset=dataset,
        title=title,
        schema_id=schema_id,
        variant=variant(schema_id, encoding, delimiter, fix),
        filename=filename,
        media_type=media_type,
        size=staged.size,
        sha256=staged.sha256,
        object_key=key,
        status="received",
    )
    try:
        async with sessionmaker.begin() as session:
            # Checked again inside the writing transaction: another request may have claimed
            # the dataset or sent the same bytes since the first look.
            if existing := await known(session):
                return existing, False
            if await session.get(Dataset, dataset) is None:
                session.add(Dataset(slug=dataset, organization=organization.slug))
                await session.flush()  # the claim row before the upload that refers to it
            session.add(upload)
            enqueue(
                session,
                Outbox,
                events.FileReceived(
                    source=source,
                    upload_id=upload.id,
                    organization=organization.slug,
                    dataset=dataset,
                    title=title,
                    schema_id=schema_id,
                    encoding=encoding,
                    delimiter=delimiter,
                    fix=fix,
                    file=events.FileRef(
                        object_key=key,
                        sha256=staged.sha256,
                        size=staged.size,
                        filename=filename,
                        media_type=media_type,
                    ),
                ),
            )
    except IntegrityError:
        # On PostgreSQL two transactions can both pass the check; the unique keys decide.
        async with reader() as session:
            if existing := await known(session):
                return existing, False
        raise
    return upload, True


DELIMITERS = {",": ",", ";": ";", "|": "|", "\t": "\t", "tab": "\t", "tabulation": "\t"}


def reading_overrides(fields: dict[str, str]) -> tuple[str | None, str | None]:
    """The encoding and delimiter the person chose instead of detection, checked."""
    encoding = fields.get("encoding") or None
    if encoding is not None:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise problems.InvalidField.encoding(encoding) from None
    delimiter = fields.get("delimiter") or None
    if delimiter is not None:
        if delimiter.lower() not in DELIMITERS:
            raise problems.InvalidField.delimiter(delimiter)
        delimiter = DELIMITERS[delimiter.lower()]
    return encoding, delimiter


def variant(schema_id: str | None, encoding: str | None, delimiter: str | None, fix: bool) -> str:
    """How the bytes are to be read: empty when everything is left to detection."""
    if not (schema_id or encoding or delimiter or fix):
        return ""
    return f"{schema_id or ''}|{encoding or ''}|{delimiter or ''}|{'fix' if fix else ''}"


async def _same_bytes(
    session: AsyncSession, dataset: str, sha256: str, variant: str
) -> Upload | None:
    return await session.scalar(
        select(Upload).where(
            Upload.dataset == dataset,
            Upload.sha256 == sha256,
            Upload.variant == variant,
        )
    )


async def get_upload(session: AsyncSession, *, organization: str, upload_id: uuid.UUID) -> Upload:
    """An upload of this organization; 404 for any other, so ids reveal nothing."""
    upload = await session.get(Upload, upload_id)
    if upload is None or upload.organization != organization:
        raise problems.upload_not_found()
    return upload


def describe(upload: Upload, *, public_url: str) -> dict[str, Any]:
    """The JSON a client reads about an upload."""
    return {
        "id": str(upload.id),
        "status": upload.status,
        "status_url": f"{public_url}/api/v1/uploads/{upload.id}",
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


async def advance(session: AsyncSession, upload_id: uuid.UUID, status: str, **values: Any) -> None:
    """Move an upload forward to ``status``; an older or repeated event changes nothing."""
    # Locked, so two events for the same upload applied at once cannot undo each other.
    upload = await session.get(Upload, upload_id, with_for_update=True)
    if upload is None:
        return
    for name, value in values.items():
        setattr(upload, name, value)
    if RANK[status] > RANK[upload.status]:
        upload.status = status
