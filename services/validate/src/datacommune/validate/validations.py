"""The domain of validate: check a received file once, store its report, announce the result."""

import asyncio
import contextlib
import hashlib
import json
import posixpath
import time
import uuid
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.shared import events, metrics
from datacommune.shared.bus import Bus
from datacommune.shared.charsets import iana
from datacommune.shared.outbox import OutboxRelay, enqueue
from datacommune.shared.process.scratch import held_dir
from datacommune.shared.storage import ObjectStore, content_key
from datacommune.validate.checks import shapes
from datacommune.validate.registry import Registry, SchemaEntry
from datacommune.validate.reports import rendering
from datacommune.validate.reports import report as reports
from datacommune.validate.tables import Outbox, Validation

log = structlog.get_logger()

# Event ids derived from the upload id: a second worker checking the same upload publishes the
# same ids, which JetStream and every consumer drop.
_IDS = uuid.UUID("5b0f7a1e-3c1d-4c8e-9a55-2f1d8f0c7e21")
MAX_ISSUES_IN_EVENT = 20
# Each file is checked in a scratch folder of the work dir so named (swept at start-up).
SCRATCH_PREFIX = "check-"

EXTENSIONS = {
    "text/csv": ".csv",
    "text/tab-separated-values": ".tsv",
    "application/json": ".json",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
}
KNOWN_EXTENSIONS = {*EXTENSIONS.values(), ".txt"}


def extension(file: events.FileRef) -> str:
    """The extension frictionless should read the file with (the stored key has none)."""
    ext = posixpath.splitext(file.filename.replace("\\", "/"))[1].lower()
    if ext in KNOWN_EXTENSIONS:
        return ext
    return EXTENSIONS.get(file.media_type, ".csv")


def report_keys(upload_id: uuid.UUID) -> dict[str, str]:
    """Reports are stored beside the files, one per upload, in each of their shapes."""
    return {
        "json": f"reports/{upload_id}.json",
        "html": f"reports/{upload_id}.html",
        "validata": f"reports/{upload_id}.validata.json",
    }


async def validate_received(
    event: events.FileReceived,
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    store: ObjectStore,
    bus: Bus,
    relay: OutboxRelay,
    registry: Registry,
    work_dir: Path,
    source: str,
) -> None:
    """Check the file of ``event`` unless it was already; commit the result with its event."""
    async with sessionmaker() as session:
        if await session.get(Validation, event.upload_id) is not None:
            return
    with contextlib.suppress(Exception):
        await bus.publish(
            events.FileValidationStarted(
                id=uuid.uuid5(_IDS, f"{event.upload_id}/started"),
                source=source,
                upload_id=event.upload_id,
            )
        )
    schema = registry.get(event.schema_id) if event.schema_id else None
    with held_dir(work_dir, prefix=SCRATCH_PREFIX) as tmp:
        path = Path(tmp) / f"file{extension(event.file)}"
        await store.download(event.file.object_key, path)
        repaired: events.FileRef | None = None
        fixed: reports.Repaired | None = None
        started = time.perf_counter()
        try:
            report, fixed = await asyncio.to_thread(
                reports.check_with_repair,
                path,
                schema=schema,
                schema_ref=event.schema_id,
                encoding=event.encoding,
                delimiter=event.delimiter,
                fix=event.fix,
                renames=event.mapping,
                candidates=registry.all(),
            )
        except Exception as exc:
            # A checker crash is a result the commune must see, not a message to retry forever.
            log.exception("check_failed", upload_id=str(event.upload_id))
            report = reports.failed(f"{type(exc).__name__}: {exc}"[:500])
        _measured(report, time.perf_counter() - started)
        if fixed is not None:
            # Outside the try: a storage hiccup is retried with the message, not reported.
            repaired = await _store_repair(event, fixed, store)
    report["upload_id"] = str(event.upload_id)
    # Each file with the encoding its bytes were read in: catalog serves it as their charset.
    file = repaired or _as_read(event.file, report)
    original = _as_read(event.file, report["repair"]["before"]) if repaired else None
    report["file"] = file.model_dump()
    if original is not None:
        report["original"] = original.model_dump()
    keys = report_keys(event.upload_id)
    await store.put_bytes(
        keys["html"],
        rendering.to_html(report).encode(),
        media_type="text/html; charset=utf-8",
    )
    await store.put_bytes(
        keys["validata"],
        json.dumps(rendering.to_validata(report), ensure_ascii=False).encode(),
        media_type="application/json",
    )
    # The JSON report last: once it is there, the others are too.
    await store.put_bytes(
        keys["json"], json.dumps(report, ensure_ascii=False).encode(), media_type="application/json"
    )
    validated = _validated_event(event, report, keys, schema, source)
    validated = validated.model_copy(update={"file": file})
    if original is not None:
        validated = validated.model_copy(
            update={"original": original, "changes_key": changes_key(event.upload_id)}
        )
    try:
        async with sessionmaker.begin() as session:
            session.add(
                Validation(
                    upload_id=event.upload_id,
                    schema_id=validated.schema_id,
                    valid=validated.valid,
                    publishable=validated.publishable,
                    report_key=keys["json"],
                )
            )
            enqueue(session, Outbox, validated)
    except IntegrityError:
        log.info("already_validated", upload_id=str(event.upload_id))
        return
    relay.wake()
    log.info(
        "file_validated",
        upload_id=str(event.upload_id),
        valid=validated.valid,
        errors=validated.summary.errors,
    )


def _digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as src:
        while chunk := src.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def changes_key(upload_id: uuid.UUID) -> str:
    """The full list of repairs made to an upload's file."""
    return f"repairs/{upload_id}.json"


async def _store_repair(
    event: events.FileReceived, fixed: reports.Repaired, store: ObjectStore
) -> events.FileRef:
    """Store the repaired file (content-addressed, like uploads) and its full change list."""
    sha256, size = await asyncio.to_thread(_digest, fixed.file)
    key = content_key(sha256)
    if not await store.exists(key):
        await store.put_file(key, fixed.file, media_type="text/csv")
    await store.put_file(changes_key(event.upload_id), fixed.changes, media_type="application/json")
    stem = posixpath.splitext(posixpath.basename(event.file.filename.replace("\\", "/")))[0]
    return events.FileRef(
        object_key=key,
        sha256=sha256,
        size=size,
        filename=f"{stem or 'fichier'}.csv",
        media_type="text/csv",
        # A repair is written in UTF-8, whatever the upload's encoding.
        charset="utf-8",
    )


def _as_read(file: events.FileRef, report: dict[str, Any]) -> events.FileRef:
    """``file`` with the encoding its text was read in, as a report (or the ``before`` side of
    a repair) gives it; kept as is when it is not text."""
    encoding = (report.get("source") or {}).get("encoding") or report.get("encoding")
    if not encoding:
        return file
    return file.model_copy(update={"charset": iana(encoding["name"])})


def _validated_event(
    event: events.FileReceived,
    report: dict[str, Any],
    keys: dict[str, str],
    schema: SchemaEntry | None,
    source: str,
) -> events.FileValidated:
    return events.FileValidated(
        id=uuid.uuid5(_IDS, f"{event.upload_id}/validated"),
        source=source,
        upload_id=event.upload_id,
        organization=event.organization,
        dataset=event.dataset,
        title=event.title,
        schema_id=schema.id if schema else event.schema_id,
        schema_url=schema.url if schema else None,
        file=event.file,
        valid=report["valid"],
        publishable=report["publishable"],
        unchecked=[u["check"] for u in report.get("unchecked", [])],
        report_key=keys["json"],
        renditions={k: v for k, v in keys.items() if k != "json"},
        summary=events.ReportSummary(**report["summary"]),
        issues=[
            events.ValidationIssue(
                type=i["type"],
                message=i["message"],
                row=i["row"],
                field=i["field"],
                cell=None if i["cell"] is None else str(i["cell"]),
            )
            for i in report["issues"][:MAX_ISSUES_IN_EVENT]
        ],
        table=shapes.table_shape(report, schema.descriptor if schema else None),
        release_id=event.release_id,
        uploaded_by=event.uploaded_by,
        token_id=event.token_id,
    )


def _measured(report: dict[str, Any], seconds: float) -> None:
    """Count a check for /metrics: its outcome, its time, its rows."""
    outcome = "refused" if reports.refused(report) else "valid" if report["valid"] else "invalid"
    metrics.VALIDATIONS.labels(outcome).inc()
    metrics.VALIDATION_SECONDS.observe(seconds)
    metrics.VALIDATION_ROWS.observe(report["summary"]["rows"])
