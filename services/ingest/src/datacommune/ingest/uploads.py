"""The domain of ingest: accept an upload, then follow it as the other services report back."""

import codecs
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, replace
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.ingest import filenames, problems
from datacommune.ingest.form import Form
from datacommune.ingest.tables import (
    ColumnMapping,
    Dataset,
    Delegation,
    Organization,
    Outbox,
    Upload,
)
from datacommune.shared import credentials, events, fields
from datacommune.shared.db import insert_ignoring
from datacommune.shared.outbox import enqueue, utcnow
from datacommune.shared.storage import ObjectStore, content_key

log = structlog.get_logger()

DATASET_SLUG = re.compile(fields.DATASET_SLUG)


@dataclass(frozen=True)
class Wanted:
    """What an upload asks for, beyond its bytes."""

    organization: str
    dataset: str
    title: str | None = None
    schema_id: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    fix: bool = False
    mapping: dict[str, str] | None = None
    # The release it waits for (embargoed until then); part of the variant: the same bytes
    # published now and published at the council are two intentions.
    release_id: uuid.UUID | None = None
    # Who sent it, when an organization published for ``organization`` (a delegation).
    uploaded_by: str | None = None
    token_id: uuid.UUID | None = None

    def options(self) -> dict[str, Any]:
        """The reading choices, as stored with the upload."""
        chosen = {
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "fix": self.fix or None,
            "mapping": self.mapping,
            "release": str(self.release_id) if self.release_id else None,
        }
        return {k: v for k, v in chosen.items() if v}

    def variant(self) -> str:
        """How the bytes are to be read: the same bytes read another way are another upload."""
        options = self.options()
        if not (self.schema_id or options):
            return ""
        digest = hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()
        return f"{self.schema_id or ''}|{digest[:16] if options else ''}"


TITLE_LIMIT = 300


def one_line(name: str, value: str | None, limit: int) -> None:
    """A short text field, checked: at most ``limit`` characters, on one line."""
    if value is not None and len(value) > limit:
        raise problems.InvalidField.too_long(name, limit)
    if value is not None and not fields.is_line(value):
        raise problems.InvalidField.control_character(name)


def wanted_from(form: Form, organization: str) -> Wanted:
    """Check the form's fields; a 422 problem names the first wrong one."""
    dataset = form.fields.get("dataset", "")
    if not dataset:
        raise problems.InvalidField.missing("dataset")
    if not DATASET_SLUG.match(dataset):
        raise problems.InvalidField.dataset_slug(dataset)
    schema_id = form.fields.get("schema") or None
    title = form.fields.get("title") or None
    one_line("schema", schema_id, 200)
    one_line("title", title, TITLE_LIMIT)
    encoding, delimiter = reading_overrides(form.fields)
    fix = form.fields.get("fix", "").strip().lower() in {"1", "true", "oui", "yes", "on"}
    release_id = None
    if release := form.fields.get("release", "").strip():
        try:
            release_id = uuid.UUID(release)
        except ValueError:
            raise problems.InvalidField.release(release) from None
    return Wanted(
        organization, dataset, title, schema_id, encoding, delimiter, fix, release_id=release_id
    )


async def accept(
    sessionmaker: async_sessionmaker[AsyncSession],
    reader: async_sessionmaker[AsyncSession],
    store: ObjectStore,
    *,
    principal: credentials.Principal[Organization],
    form: Form,
    source: str,
) -> tuple[Upload, bool]:
    """Store the staged file and record the upload with its ``file.received`` event.

    Returns the upload and whether it is new: the same bytes posted again to the same dataset
    (read the same way) give back the first upload. The object is stored before the row is
    committed, so an upload that was answered with 2xx always has its file. A column mapping
    the organization confirmed for this dataset and schema is applied.
    """
    staged = form.file
    if staged is None:
        raise problems.InvalidField.missing("file")
    if staged.size == 0:
        raise problems.EmptyFile.make()
    async with reader() as session:
        target = await credentials.acting_for(
            session, principal, form.fields.get("on_behalf_of") or None, Delegation
        )
    wanted = replace(
        wanted_from(form, target),
        uploaded_by=principal.slug if target != principal.slug else None,
        token_id=principal.token_id,
    )
    async with reader() as session:
        if wanted.schema_id:
            confirmed = await session.get(ColumnMapping, (wanted.dataset, wanted.schema_id))
            if confirmed is not None:
                wanted = replace(wanted, mapping=dict(confirmed.columns))
        if existing := await _known(session, wanted, staged.sha256):
            return existing, False

    filename = filenames.escape(staged.filename)
    stored = events.FileRef(
        object_key=content_key(staged.sha256),
        sha256=staged.sha256,
        size=staged.size,
        filename=filename,
        media_type=filenames.media_type(filename, staged.content_type),
    )
    if not await store.exists(stored.object_key):
        await store.put_file(stored.object_key, staged.path, media_type=stored.media_type)
    return await record(sessionmaker, reader, wanted=wanted, file=stored, source=source)


async def _known(session: AsyncSession, wanted: Wanted, sha256: str) -> Upload | None:
    """Refuse another organization's dataset; find these very bytes, read this way, if here."""
    await _owner(session, wanted)
    return await _same_bytes(session, wanted, sha256)


async def _owner(session: AsyncSession, wanted: Wanted) -> str | None:
    """Who holds the dataset (None if no one yet); another organization is refused."""
    owner = await session.scalar(select(Dataset.organization).where(Dataset.slug == wanted.dataset))
    if owner is not None and owner != wanted.organization:
        raise problems.DatasetNameTaken.of(wanted.dataset, wanted.organization)
    return owner


async def _same_bytes(session: AsyncSession, wanted: Wanted, sha256: str) -> Upload | None:
    return await session.scalar(
        select(Upload).where(
            Upload.dataset == wanted.dataset,
            Upload.sha256 == sha256,
            Upload.variant == wanted.variant(),
        )
    )


async def record(
    sessionmaker: async_sessionmaker[AsyncSession],
    reader: async_sessionmaker[AsyncSession],
    *,
    wanted: Wanted,
    file: events.FileRef,
    source: str,
) -> tuple[Upload, bool]:
    """Record an upload of an already stored file, with its event; idempotent on its bytes."""
    upload = Upload(
        id=uuid.uuid4(),
        organization=wanted.organization,
        dataset=wanted.dataset,
        title=wanted.title,
        schema_id=wanted.schema_id,
        variant=wanted.variant(),
        options=wanted.options() or None,
        filename=file.filename,
        media_type=file.media_type,
        size=file.size,
        sha256=file.sha256,
        object_key=file.object_key,
        status="received",
        uploaded_by=wanted.uploaded_by,
        token_id=wanted.token_id,
    )
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await _record_once(sessionmaker, wanted, upload, file, source)
        except IntegrityError:
            # Two transactions passed the checks together (PostgreSQL runs them side by
            # side): the same bytes sent twice at once, or a first upload to a new dataset
            # racing another. Read again what the winner committed, and try once more.
            async with reader() as session:
                if existing := await _known(session, wanted, file.sha256):
                    return existing, False
            if attempt == ATTEMPTS:
                raise
            log.info("upload_record_retried", dataset=wanted.dataset, attempt=attempt)
    raise AssertionError("unreachable")


# How many times a first upload racing others is recorded before giving up (each retry follows
# a transaction that lost to another one, so a second attempt nearly always succeeds).
ATTEMPTS = 3


async def _claim(session: AsyncSession, wanted: Wanted) -> None:
    """Make the dataset ``wanted.organization``'s unless another organization holds it.

    ``INSERT … ON CONFLICT DO NOTHING`` then a read: on PostgreSQL the insert waits for a
    concurrent first upload to the same new dataset to commit, and the read then sees who won,
    so the loser gets a clear answer instead of a unique-key failure.
    """
    await insert_ignoring(
        session,
        Dataset,
        {"slug": wanted.dataset, "organization": wanted.organization, "created_at": utcnow()},
        keys=["slug"],
    )
    owner = await session.scalar(select(Dataset.organization).where(Dataset.slug == wanted.dataset))
    if owner != wanted.organization:
        raise problems.DatasetNameTaken.of(wanted.dataset, wanted.organization)


async def _record_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    wanted: Wanted,
    upload: Upload,
    file: events.FileRef,
    source: str,
) -> tuple[Upload, bool]:
    async with sessionmaker.begin() as session:
        # Checked again inside the writing transaction: another request may have claimed
        # the dataset or sent the same bytes since the first look.
        owner = await _owner(session, wanted)
        if existing := await _same_bytes(session, wanted, file.sha256):
            return existing, False
        if owner is None:
            await _claim(session, wanted)  # the claim row before the upload that refers to it
        session.add(upload)
        enqueue(
            session,
            Outbox,
            events.FileReceived(
                source=source,
                upload_id=upload.id,
                organization=wanted.organization,
                dataset=wanted.dataset,
                title=wanted.title,
                schema_id=wanted.schema_id,
                encoding=wanted.encoding,
                delimiter=wanted.delimiter,
                fix=wanted.fix,
                mapping=wanted.mapping,
                release_id=wanted.release_id,
                uploaded_by=wanted.uploaded_by,
                token_id=wanted.token_id,
                file=file,
            ),
        )
    return upload, True


async def confirm_mapping(
    sessionmaker: async_sessionmaker[AsyncSession],
    reader: async_sessionmaker[AsyncSession],
    *,
    upload: Upload,
    columns: dict[str, str],
    source: str,
    wanted: "Wanted | None" = None,
) -> tuple[Upload, bool]:
    """Remember ``columns`` for the upload's dataset and schema, then check the same bytes
    again with it (and the other choices of ``wanted``, if given): the new upload is published
    if the mapping makes it valid."""
    if not upload.schema_id:
        raise problems.mapping_without_schema()
    async with sessionmaker.begin() as session:
        confirmed = await session.get(ColumnMapping, (upload.dataset, upload.schema_id))
        if confirmed is None:
            session.add(
                ColumnMapping(dataset=upload.dataset, schema_id=upload.schema_id, columns=columns)
            )
        else:
            confirmed.columns = columns
            confirmed.confirmed_at = utcnow()
    wanted = replace(wanted or wanted_again(upload), mapping=columns)
    return await record(sessionmaker, reader, wanted=wanted, file=_stored(upload), source=source)


def wanted_again(upload: Upload) -> Wanted:
    """What ``upload`` asked for, to send its bytes again with one choice changed."""
    options = upload.options or {}
    release = options.get("release") or (str(upload.release_id) if upload.release_id else None)
    return Wanted(
        organization=upload.organization,
        dataset=upload.dataset,
        title=upload.title,
        schema_id=upload.schema_id,
        encoding=options.get("encoding"),
        delimiter=options.get("delimiter"),
        fix=bool(options.get("fix")),
        mapping=options.get("mapping"),
        release_id=uuid.UUID(release) if release else None,
        uploaded_by=upload.uploaded_by,
        token_id=upload.token_id,
    )


def _stored(upload: Upload) -> events.FileRef:
    return events.FileRef(
        object_key=upload.object_key,
        sha256=upload.sha256,
        size=upload.size,
        filename=upload.filename,
        media_type=upload.media_type,
    )


async def again(
    sessionmaker: async_sessionmaker[AsyncSession],
    reader: async_sessionmaker[AsyncSession],
    *,
    upload: Upload,
    wanted: Wanted,
    source: str,
) -> tuple[Upload, bool]:
    """Check the bytes of ``upload`` again as ``wanted`` says (another schema, the safe repairs
    accepted, a release to wait for): a new upload, or the one already made that way."""
    return await record(sessionmaker, reader, wanted=wanted, file=_stored(upload), source=source)


async def retitle(
    sessionmaker: async_sessionmaker[AsyncSession], *, upload: Upload, title: str
) -> None:
    """Give a file still to correct the title it will be published under.

    The title is not part of how the bytes are read (``variant``): checking again with only a
    new title would find this very upload. Changing it here is safe because nothing has been
    published from it (``invalid``); the checks that follow carry it (``wanted_again``).
    """
    if upload.status != "invalid" or upload.title == title:
        return
    async with sessionmaker.begin() as session:
        await session.execute(
            update(Upload)
            .where(Upload.id == upload.id, Upload.status == "invalid")
            .values(title=title)
        )
    upload.title = title


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


async def record_forwarded(
    sessionmaker: async_sessionmaker[AsyncSession],
    event: events.FileReceived,
    *,
    node: str,
    source: str,
) -> None:
    """On the hub: an upload an ingest node accepted (its bytes already stored here), recorded
    with the same id and announced with the same event, so validate and catalog see one upload
    whichever way it came; idempotent."""
    try:
        async with sessionmaker.begin() as session:
            if await session.get(Upload, event.upload_id) is not None:
                return
            await insert_ignoring(
                session,
                Dataset,
                {"slug": event.dataset, "organization": event.organization, "created_at": utcnow()},
                keys=["slug"],
            )
            session.add(
                Upload(
                    id=event.upload_id,
                    organization=event.organization,
                    dataset=event.dataset,
                    title=event.title,
                    schema_id=event.schema_id,
                    variant=f"node:{node}:{event.upload_id}",
                    # The node's reading choices, so that checking it again here keeps them.
                    options=Wanted(
                        organization=event.organization,
                        dataset=event.dataset,
                        encoding=event.encoding,
                        delimiter=event.delimiter,
                        fix=event.fix,
                        mapping=event.mapping,
                        release_id=event.release_id,
                    ).options()
                    or None,
                    filename=event.file.filename,
                    media_type=event.file.media_type,
                    size=event.file.size,
                    sha256=event.file.sha256,
                    object_key=event.file.object_key,
                    status="received",
                    uploaded_by=event.uploaded_by,
                    token_id=event.token_id,
                    release_id=event.release_id,
                    node=node,
                )
            )
            enqueue(session, Outbox, event)
    except IntegrityError:
        # Another replica took it in at the same moment; anything else comes back and is
        # tried again, never dropped.
        async with sessionmaker() as session:
            if await session.get(Upload, event.upload_id) is None:
                raise
        return
