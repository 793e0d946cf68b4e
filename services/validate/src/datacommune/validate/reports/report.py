"""Check one file with frictionless and describe the result in the report's stable JSON shape.

A report is a result, not an error: an invalid file gets a report like a valid one. Counts are
exact; examples are capped per kind of error so a million bad cells make a readable report.
"""

import csv
import io
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal
from xml.etree.ElementTree import ParseError

import pyarrow as pa
import structlog
from frictionless import (
    Dialect,
    FrictionlessException,
    formats,
)
from frictionless.resources import TableResource

from datacommune.shared import wording
from datacommune.validate import columnar
from datacommune.validate.checks import coordinates, findings, mapping, repairs
from datacommune.validate.columnar import untouched as bulk
from datacommune.validate.columnar.order import Sink
from datacommune.validate.reading import jsondata, limits, ods, sniff
from datacommune.validate.reading import prepare as reading
from datacommune.validate.reading.inference import QuickDetector
from datacommune.validate.reading.records import Records
from datacommune.validate.registry import SchemaEntry
from datacommune.validate.reports import document, recheck
from datacommune.validate.reports.recheck import Found
from datacommune.validate.reports.tally import Tally
from datacommune.validate.reports.validated_schema import ValidatedSchema

log = structlog.get_logger()


TEXT_FORMATS = {".csv", ".tsv", ".txt"}
TABLE_FORMATS = {*TEXT_FORMATS, ".xlsx", ".xls", ".ods", ".json"}


def check(
    path: Path,
    *,
    schema: SchemaEntry | None,
    schema_ref: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    candidates: list[SchemaEntry] | None = None,
    engine: Literal["columnar", "frictionless"] = "columnar",
    record: Sink | None = None,
    clearing: bulk.Clearing | None = None,
) -> dict[str, Any]:
    """Validate the file at ``path`` (its extension gives the format) and build its report.

    ``encoding`` and ``delimiter`` are the person's overrides of what detection concludes.
    Without a schema, ``candidates`` are ranked by how well they fit the header. ``engine``
    ``frictionless`` skips the columnar engine (to compare them). ``record`` is also given
    each row's findings as the columnar engine finds them, and ``clearing`` its batches (the
    rows a repair would leave alone, found in the same pass).
    """
    started = time.monotonic()
    if schema_ref and schema is None:
        return document.fatal(
            "schema-not-found",
            f"Unknown schema {schema_ref!r}",
            {
                "fr": f"Le schéma « {schema_ref} » est inconnu ; choisissez-en un dans la liste "
                "(« datacommune schemas » ou GET /api/v1/schemas).",
                "en": f"The schema {schema_ref!r} is unknown; pick one from the list.",
            },
        )
    options: dict[str, Any] = {}
    source: dict[str, Any] = {}
    largest = 0  # the largest row, once measured
    scanned: Records | None = None  # the records of a CSV, once scanned
    if path.suffix.lower() in TEXT_FORMATS:
        read = reading.text(path, encoding=encoding, delimiter=delimiter)
        if isinstance(read, reading.Refusal):
            return document.refusal_report(read)
        source = read.source
        path = read.path
        largest = read.largest
        scanned = read.records
        options = csv_options(read.delimiter)
    elif path.suffix.lower() in limits.ARCHIVES and (exceeded := limits.archive(path)):
        return document.limit_report(exceeded)
    elif path.suffix.lower() == ".ods":
        converted = path.with_name(f"converted-{path.stem}.csv")
        try:
            sheet = ods.to_csv(path, converted)
        except (ods.NotOds, ParseError, ValueError) as exc:
            return document.fatal(
                "format-error",
                f"Not a readable ODS spreadsheet: {exc}",
                {
                    "fr": "Le classeur ODS ne peut pas être lu. Réenregistrez-le depuis votre "
                    "tableur, ou déposez un CSV.",
                    "en": "The ODS workbook cannot be read. Save it again, or upload a CSV.",
                },
            )
        source = {"sheet": sheet, "converted_from": "ods"}
        table = reading.table(converted, ",")
        if isinstance(table, reading.Refusal):
            return document.refusal_report(replace(table, source=source))
        largest, scanned = table.largest, table
        path = converted
        options = {"encoding": "utf-8", "format": "csv"}
    elif path.suffix.lower() == ".json":
        if path.stat().st_size > jsondata.MAX_BYTES:
            return document.limit_report(limits.json_size(jsondata.MAX_BYTES))
        converted = path.with_name(f"converted-{path.stem}.csv")
        try:
            jsondata.to_csv(path, converted)
        except jsondata.TooDeep:
            return document.limit_report(limits.json_depth(jsondata.MAX_DEPTH))
        except (ValueError, jsondata.NotATable) as exc:
            return document.fatal(
                "format-error",
                f"Not a JSON table: {exc}"[:300],
                {
                    "fr": "Ce JSON n'est pas un tableau : attendu une liste d'objets (une ligne "
                    "chacun) ou une liste de listes (la première étant l'en-tête).",
                    "en": "This JSON is not a table: expected a list of objects or of lists.",
                },
            )
        source = {"converted_from": "json"}
        table = reading.table(converted, ",")
        if isinstance(table, reading.Refusal):
            return document.refusal_report(replace(table, source=source))
        largest, scanned = table.largest, table
        path = converted
        options = {"encoding": "utf-8", "format": "csv"}
    elif path.suffix.lower() not in TABLE_FORMATS:
        return document.fatal(
            "format-error",
            f"Format {path.suffix or '(none)'} is not read as a table",
            {
                "fr": "Ce format n'est pas lu comme un tableau. Déposez un CSV, un XLSX ou un ODS.",
                "en": "This format is not read as a table. Upload a CSV, XLSX or ODS file.",
            },
        )

    used = {"name": "frictionless", "reason": "asked" if engine != "columnar" else "not a CSV"}
    outcome: columnar.Outcome | None = None
    tally = Tally(schema)
    try:
        resource = table_resource(path, schema, largest, options)
        if scanned is not None and engine == "columnar":
            sink = tally.add_row if record is None else _both(record, tally.add_row)
            observe = None
            if clearing is not None:
                clearing.open(path, scanned.delimiter)
                clearing.odd = clearing.odd or any(scanned.odd_widths)
                observe = clearing.batch
            outcome, used = _columnar(path, resource, checklist(schema), scanned, sink, observe)
            if clearing is not None:
                clearing.complete = outcome is not None
            if outcome is None:  # frictionless reads it afresh, and counts afresh
                resource = table_resource(path, schema, largest, options)
                tally = Tally(schema)
        if outcome is None:
            frictionless_report = resource.validate(
                checklist(schema), limit_errors=document.MAX_ERRORS
            )
    except FrictionlessException as exc:
        return document.fatal(
            "schema-error",
            str(exc),
            {
                "fr": "Le schéma ne peut pas être appliqué (il est lui-même défectueux) : "
                "prévenez l'administrateur.",
                "en": "The schema cannot be applied (it is itself defective): tell the "
                "administrator.",
            },
        )
    if outcome is not None:
        rows = outcome.rows
    else:
        task = frictionless_report.tasks[0]
        tally.add_all(findings.as_found(e) for e in task.errors)
        rows = int(task.stats.get("rows") or 0)
    sample: list[list[str]] | None = None
    if schema and tally.labelled:
        delimiter_used = (source.get("dialect") or {}).get("delimiter", ",")
        sample = _sample_rows(path, delimiter_used) if options.get("format") == "csv" else []
        header = sample[0] if sample else document.labels(resource)
        proposed = mapping.propose([h.strip() for h in header], schema, sample[1:])
    else:
        proposed = []
    source = {
        "format": resource.format,
        **source,
        "header": document.labels(resource),
        "fields": document.fields_of(resource),
    }
    if options.get("format") == "csv":
        if sample is None:
            sample = _sample_rows(path, (source.get("dialect") or {}).get("delimiter", ","))
        declared = schema.descriptor.get("custom_checks", []) if schema else []
        if geo := coordinates.find(source["header"], source["fields"], declared, sample[1:]):
            source["coordinates"] = geo.model_dump(mode="json")
    report = document.assemble(
        schema=schema,
        rows=rows,
        tally=tally,
        source=source,
        seconds=time.monotonic() - started,
        # The columnar engine counts every finding; frictionless stops at MAX_ERRORS.
        truncated=outcome is None and tally.total >= document.MAX_ERRORS,
    )
    report["engine"] = used
    if proposed:
        report["mapping"] = {"proposed": proposed}
    if schema is None and candidates:
        if guesses := mapping.guess(report["source"]["header"], candidates):
            report["schema_guess"] = guesses
    return report


def _after(
    target: Path,
    schema: SchemaEntry | None,
    schema_ref: str | None,
    report: dict[str, Any],
    result: repairs.Repair,
    recorder: recheck.Recorder,
    changed: recheck.Changed,
) -> dict[str, Any]:
    """What the repaired file's report would say (its summary and message): from the original's
    findings and its changed rows checked again where that is the same, else from a check of
    the whole file; ``checked`` says which."""
    started = time.monotonic()
    reason = recheck.whole_file_reason(schema, report, result)
    if reason is None and recorder.overflowed:
        reason = f"over {recheck.MAX_RECORDED:,} findings in the original"
    again = None
    if reason is None and schema is not None:
        again = _changed_rows(changed, schema)
        if again is None:
            reason = "the engine could not check the changed rows alone"
    if again is None:
        whole = check(target, schema=schema, schema_ref=schema_ref)
        checked: dict[str, Any] = {"how": "whole-file", "reason": reason}
        return {"summary": whole["summary"], "message": whole["message"], "checked": checked}
    tally = Tally(schema)
    for found in recheck.merged(recorder.rows(), again, changed.numbers, result.last_row):
        tally.add_row(found)
    composed = document.assemble(
        schema=schema,
        # The empty rows removed from the end were rows of the original.
        rows=report["summary"]["rows"] - result.counter["empty-row"],
        tally=tally,
        source={},
        seconds=time.monotonic() - started,
        truncated=False,
    )
    checked = {"how": "changed-rows", "rows": len(changed.numbers)}
    return {"summary": composed["summary"], "message": composed["message"], "checked": checked}


def _changed_rows(changed: recheck.Changed, schema: SchemaEntry) -> Iterable[Found] | None:
    """The findings of the rows a repair changed, checked alone and numbered as in the whole
    file; None where the columnar engine cannot give them."""
    if not changed.numbers:
        return []
    read = reading.text(changed.path, encoding="utf-8", delimiter=",")
    # Each row written must read back as one record, or the numbers would not fit.
    if isinstance(read, reading.Refusal) or read.records.count - 1 != len(changed.numbers):
        return None
    resource = table_resource(read.path, schema, read.largest, csv_options(read.delimiter))
    with recheck.Recorder(changed.path.with_suffix(".jsonl")) as found:
        outcome, _ = _columnar(
            read.path, resource, checklist(schema), read.records, found, renumber=changed.renumber
        )
    return None if outcome is None or found.overflowed else found.rows()


def table_resource(
    path: Path, schema: SchemaEntry | None, largest: int, options: dict[str, Any]
) -> TableResource:
    """The table frictionless reads at ``path``, with the reading ``options`` prepared."""
    # A TableResource never reads the file as a descriptor: nothing it names is opened.
    if schema:
        options = {**options, "schema": ValidatedSchema.from_descriptor(schema.descriptor)}
    return TableResource(
        path=path.name,
        basepath=str(path.parent),
        detector=QuickDetector(sample_size=reading.sample_rows(largest)),
        **options,
    )


def csv_options(delimiter: str) -> dict[str, Any]:
    """How frictionless reads a UTF-8 copy: its own sniffing kept to the delimiter we found."""
    return {
        "encoding": "utf-8",
        "format": "csv",
        "dialect": Dialect(controls=[formats.CsvControl(delimiter=delimiter)]),
    }


def checklist(schema: SchemaEntry | None) -> findings.TrimmingChecklist:
    """frictionless's checks and the schema's own, each finding trimmed as kept."""
    return findings.TrimmingChecklist(checks=schema.checks() if schema else [])


def _columnar(
    path: Path,
    resource: TableResource,
    checklist: findings.TrimmingChecklist,
    scanned: Records,
    sink: Sink,
    observe: Callable[[pa.RecordBatch], None] | None = None,
    renumber: Callable[[int], int] | None = None,
) -> tuple[columnar.Outcome | None, dict[str, str]]:
    """The columnar engine's reading (its findings given to ``sink``, its batches to
    ``observe``, its rows numbered by ``renumber``), or None and why frictionless checks the
    file instead."""
    try:
        outcome = columnar.check(
            path,
            resource=resource,
            checklist=checklist,
            records=scanned,
            sink=sink,
            observe=observe,
            renumber=renumber,
        )
        return outcome, {"name": "columnar"}
    except columnar.Unsupported as exc:
        return None, {"name": "frictionless", "reason": str(exc)}
    except Exception as exc:
        # A fault of the engine must not cost the commune its report: frictionless checks the
        # file, the report names the engine's fault, and the log keeps its trace.
        log.exception("columnar_engine_failed", path=path.name)
        return None, {"name": "frictionless", "reason": f"{type(exc).__name__}: {exc}"[:300]}


def _both(first: Sink, then: Sink) -> Sink:
    def both(found: list[dict[str, Any]]) -> None:
        first(found)
        then(found)

    return both


def _sample_rows(path: Path, delimiter: str, count: int = 50) -> list[list[str]]:
    """The header and first rows of the UTF-8 copy, to judge a column by its values."""
    with path.open(encoding="utf-8", newline="") as src:
        text = src.read(1024 * 1024)
    rows = []
    whole = text[: max(text.rfind("\n"), text.rfind("\r")) + 1] or text
    for row in csv.reader(io.StringIO(whole, newline=""), delimiter=delimiter):
        rows.append(row)
        if len(rows) > count:
            break
    return rows


def refused(report: dict[str, Any]) -> bool:
    """Whether the file was refused before it was read as a table (unreadable, over a limit,
    or not checked at all): only a table that was read has a header in its report."""
    return "header" not in (report.get("source") or {})


def failed(reason: str) -> dict[str, Any]:
    """The report of a file the checker itself could not get through (a crash, not a finding)."""
    return document.fatal(
        "check-failed",
        reason,
        {
            "fr": "Le fichier n'a pas pu être vérifié. Vérifiez qu'il s'agit bien d'un tableau "
            "(CSV, XLSX, ODS, JSON) ; si c'est le cas, signalez-le à l'administrateur.",
            "en": "The file could not be checked. Make sure it is a table (CSV, XLSX, ODS, JSON); "
            "if it is, tell the administrator.",
        },
    )


@dataclass(frozen=True)
class Repaired:
    """The repaired file beside the original, and its full change list as a JSON document."""

    file: Path
    changes: Path
    repair: repairs.Repair


def check_with_repair(
    path: Path,
    *,
    schema: SchemaEntry | None,
    schema_ref: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    fix: bool = False,
    renames: dict[str, str] | None = None,
    candidates: list[SchemaEntry] | None = None,
) -> tuple[dict[str, Any], Repaired | None]:
    """Check the file, and propose the safe repairs; with ``fix``, the repaired file is the one
    checked and returned (the report keeps the original's summary under ``repair.before``).

    ``renames`` is a confirmed column mapping: applying it changes the file, so it is a repair
    and implies ``fix``.
    """
    fix = fix or bool(renames)
    # The original's findings, row by row: unless a repair is applied, they give most of the
    # repaired file's (``recheck``). The rows the repair would leave alone are found as the
    # engine reads them.
    clearing = bulk.Clearing(schema)
    recording = not fix and recheck.schema_reason(schema) is None
    with recheck.Recorder(path.with_name(f"findings-{path.stem}.jsonl")) as recorder:
        report = check(
            path,
            schema=schema,
            schema_ref=schema_ref,
            encoding=encoding,
            delimiter=delimiter,
            candidates=candidates,
            record=recorder if recording else None,
            clearing=None if renames else clearing,
        )
    source = report.get("source") or {}
    # A refused file has nothing to repair, and no reason to be read again.
    if path.suffix.lower() not in TEXT_FORMATS or refused(report):
        return report, None
    if not source["encoding"].get("lossless"):
        return report, None  # the file would be rewritten with bytes lost: no repair is safe
    target = path.with_name(f"repaired-{path.stem}.csv")
    log = path.with_name(f"changes-{path.stem}.jsonl")
    # The rows no repair can change, found on the check's UTF-8 copy (as the engine read it,
    # else read again): copied as they are.
    copy = reading.copy_of(path)
    untouched = None
    if clearing.complete:
        untouched = clearing.result()
    elif not renames and copy.exists():
        untouched = bulk.find(copy, source["dialect"]["delimiter"], schema)
    with (
        log.open("w", encoding="utf-8") as out,
        recheck.Changed(path.with_name(f"changed-{path.stem}.csv")) as changed,
    ):
        result = repairs.repair(
            path,
            encoding=sniff.Encoding(**source["encoding"]),
            dialect=sniff.Dialect(**source["dialect"]),
            schema=schema,
            target=target,
            log=out,
            mapping=renames,
            untouched=untouched,
            changed=changed if recording else None,
        )
    if not result.total and not result.file:
        return report, None
    proposal = {**result.describe(), "applied": fix}
    if not fix:
        proposal["after"] = _after(target, schema, schema_ref, report, result, recorder, changed)
        report["repair"] = proposal
        return report, None
    after = check(target, schema=schema, schema_ref=schema_ref)
    proposal["before"] = {
        "summary": report["summary"],
        "message": report["message"],
        # The report now describes the repair: the original's encoding is kept here.
        "encoding": source["encoding"],
    }
    after["repair"] = proposal
    if renames:
        after["mapping"] = {**after.get("mapping", {}), "applied": renames}
    count = result.total + len(result.file)
    after["message"] = {
        "fr": f"Fichier corrigé automatiquement ({wording.fr(count, 'correction sûre', 'corrections sûres')}). "
        + after["message"]["fr"],
        "en": f"File repaired automatically ({wording.en(count, 'safe correction')}). "
        + after["message"]["en"],
    }
    changes_file = path.with_name(f"changes-{path.stem}.json")
    repairs.write_document(result, log, changes_file)
    return after, Repaired(target, changes_file, result)
