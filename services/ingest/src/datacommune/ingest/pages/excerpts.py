"""The excerpt of an upload its page shows: the first rows as read, each finding beside its
cell, within a size limit."""

import contextlib
import csv
import io
from typing import Any

import structlog

from datacommune.ingest.tables import Upload
from datacommune.shared.process.runtime import Runtime

log = structlog.get_logger()
EXCERPT_ROWS = 6
# A faulty column is shown with this many neighbours on each side, for context; a real file's
# thirty columns at full height made a page thousands of pixels tall.
NEIGHBOURS = 1
EXCERPT_MAX_BYTES = 4 * 1024 * 1024


async def excerpt(
    runtime: Runtime, upload: Upload, report: dict[str, Any]
) -> dict[str, Any] | None:
    """The first rows the report points at, read from the file as validate read it."""
    source = report.get("source") or {}
    if source.get("format") != "csv" or source.get("converted_from"):
        # A spreadsheet or JSON file was read as a table, not as lines of text.
        return None
    wanted = sorted(
        {i["row"] for i in report.get("issues", []) if i.get("row") and i.get("field")}
    )[:EXCERPT_ROWS]
    if not wanted:
        return None
    encoding = (source.get("encoding") or {}).get("name") or "utf-8"
    delimiter = (source.get("dialect") or {}).get("delimiter") or ","
    data = bytearray()
    # With the repairs accepted, the report describes the repaired file, stored beside.
    key = (report.get("file") or {}).get("object_key") or upload.object_key
    async with contextlib.aclosing(runtime.store.stream(key)) as chunks:
        async for chunk in chunks:
            data += chunk
            if len(data) >= EXCERPT_MAX_BYTES:
                break
    try:
        text = bytes(data).decode(encoding, errors="replace")
    except LookupError:
        text = bytes(data).decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter)
    header: list[str] = []
    rows: dict[int, list[str]] = {}
    try:
        for number, cells in enumerate(reader, start=1):
            if number == 1:
                header = cells
            elif number in wanted:
                rows[number] = cells
            if number >= wanted[-1]:
                break
    except csv.Error:
        return None
    bad = {(i["row"], i["field"]) for i in report.get("issues", []) if i.get("row")}
    shown = columns(header, {field for number, field in bad if number in rows})
    return {
        "header": [header[c] for c in shown],
        "rows": [
            (number, [cells[c] if c < len(cells) else "" for c in shown])
            for number, cells in sorted(rows.items())
        ],
        "bad": bad,
        "hidden": len(header) - len(shown),
    }


def columns(header: list[str], faulty: set[str]) -> list[int]:
    """The indexes of the faulty columns and their neighbours, in the file's order; every
    column when none of them is named in the header (a finding about the whole row)."""
    named = [i for i, name in enumerate(header) if name in faulty]
    if not named:
        return list(range(len(header)))
    kept = {
        j for i in named for j in range(i - NEIGHBOURS, i + NEIGHBOURS + 1) if 0 <= j < len(header)
    }
    return sorted(kept)
