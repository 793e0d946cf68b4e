"""Exports of a version's rows, whole or filtered: CSV, JSON, GeoJSON, Parquet and XLSX.

Every format streams: rows are read page by page (each page its own short read, so a slow
client never holds the database) and written out as they come. XLSX is the exception that
proves it: a workbook is a zip whose index comes last, so it is built in a temporary file,
bounded in memory, then streamed.

Exports meant for spreadsheets (CSV, XLSX) neutralise text cells starting with ``=``, ``+``,
``-``, ``@`` (or a tab or carriage return) with a leading ``'``, so that opening the file never
runs a formula; numbers stay numbers, and the original bytes stay downloadable as published.
"""

import asyncio
import csv
import io
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pygeoif
import sqlalchemy as sa
from openpyxl import Workbook
from pygeoif.exceptions import WKTParserError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.catalog import problems
from datacommune.catalog.rows import columns as rowtables
from datacommune.catalog.rows import query as rowquery
from datacommune.shared import events
from datacommune.shared.process.scratch import held_dir

PAGE = 5000
# What one page of an export may hold, about: a table of large cells is read in fewer rows a
# page, so that an export holds a bounded amount whatever the table (docs/operations.md).
PAGE_BYTES = 1024 * 1024
# Scratch folders of XLSX exports being written (swept at start-up).
SCRATCH_PREFIX = "datacommune-xlsx-"
XLSX_MAX_ROWS = 1_048_575  # a sheet's rows, less the header
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 (so XLSX) cannot hold.
NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "geojson": "application/geo+json",
    "parquet": "application/vnd.apache.parquet",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would read as a formula, made plain text."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def page_size(file_bytes: int, row_count: int) -> int:
    """Rows a page of an export reads, from the table's average row (its file's bytes per row)."""
    average = max(1, file_bytes // max(1, row_count))
    return max(1, min(PAGE, PAGE_BYTES // average))


async def pages(
    reader: async_sessionmaker[AsyncSession],
    tbl: sa.Table,
    query: rowquery.Query,
    size: int = PAGE,
) -> AsyncIterator[list[sa.Row[Any]]]:
    """Every matching row, ``size`` at a time, in the query's order, from the first."""
    current = replace(query, size=size, after=None)
    while True:
        async with reader() as session:
            rows, after = await rowquery.fetch(session, tbl, current)
        if rows:
            yield rows
        if after is None:
            return
        current = replace(current, after=after)


def _cells(query: rowquery.Query, row: sa.Row[Any]) -> list[Any]:
    return list(row[1 : 1 + len(query.selected)])


async def to_csv(
    rows: AsyncIterator[list[sa.Row[Any]]], query: rowquery.Query
) -> AsyncIterator[bytes]:
    text = [c["stored"] == "string" for c in query.selected]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(c["name"]) for c in query.selected])
    async for page in rows:
        for row in page:
            cells = _cells(query, row)
            writer.writerow(
                [
                    neutralise(v) if is_text else _csv_value(v)
                    for v, is_text in zip(cells, text, strict=True)
                ]
            )
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def _csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return rowquery.plain(value)


async def to_json(
    rows: AsyncIterator[list[sa.Row[Any]]], query: rowquery.Query
) -> AsyncIterator[bytes]:
    yield b"["
    first = True
    async for page in rows:
        chunk = ",\n".join(
            json.dumps(rowquery.as_dict(query.selected, row), ensure_ascii=False) for row in page
        )
        yield (("" if first else ",\n") + chunk).encode()
        first = False
    yield b"]\n"


def geometry_reader(
    geo: events.GeoColumns | None, columns: list[dict[str, str]]
) -> tuple[list[dict[str, str]], Callable[[list[Any]], dict[str, Any] | None]] | None:
    """The columns a point or shape is made of, and how to make it; None without coordinates."""
    by_name = {c["name"]: c for c in columns}
    if geo is None:
        return None
    if geo.latitude in by_name and geo.longitude in by_name:
        return [by_name[geo.latitude], by_name[geo.longitude]], lambda v: _point(v[1], v[0])
    if geo.point in by_name:
        return [by_name[geo.point]], lambda v: _geopoint(v[0], geo.point_format)
    if geo.geometry in by_name:
        read = _wkt if geo.geometry_format == "wkt" else _geometry
        return [by_name[geo.geometry]], lambda v: read(v[0])
    return None


def _coordinate(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return float(str(value).strip().replace(",", "."))


def _point(lon: Any, lat: Any) -> dict[str, Any] | None:
    try:
        x, y = _coordinate(lon), _coordinate(lat)
    except (TypeError, ValueError):
        return None
    if not (-180 <= x <= 180 and -90 <= y <= 90):
        return None
    return {"type": "Point", "coordinates": [x, y]}


def _geopoint(value: Any, fmt: str) -> dict[str, Any] | None:
    """A Table Schema geopoint: ``"lon, lat"`` (default), ``[lon, lat]`` (array) or
    ``{"lon": …, "lat": …}`` (object); or ``"lat, lon"`` (``latlon``, OpenDataSoft's
    ``geo_point_2d``)."""
    if not isinstance(value, str):
        return None
    try:
        if fmt == "latlon":
            lat_text, lon_text = value.split(",")
            return _point(lon_text, lat_text)
        if fmt == "object":
            parsed = json.loads(value)
            return _point(parsed["lon"], parsed["lat"])
        if fmt == "array" or value.lstrip().startswith("["):
            lon, lat = json.loads(value)
            return _point(lon, lat)
        lon_text, lat_text = value.split(",")
        return _point(lon_text, lat_text)
    except (ValueError, KeyError, TypeError):
        return None


def _geometry(value: Any) -> dict[str, Any] | None:
    try:
        parsed = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) and "type" in parsed else None


def _wkt(value: Any) -> dict[str, Any] | None:
    """A WKT (or EWKT in WGS 84) geometry as GeoJSON; None for what is not WKT."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text[:10].upper() == "SRID=4326;":
        text = text[10:]
    try:
        shape = pygeoif.from_wkt(text)
    except (WKTParserError, ValueError, TypeError, ArithmeticError):
        return None
    if shape is None:
        return None
    # Through JSON, tuples become the lists a GeoJSON reader expects; bbox is left out.
    geometry = json.loads(json.dumps(shape.__geo_interface__))
    geometry.pop("bbox", None)
    return geometry if isinstance(geometry, dict) else None


async def to_geojson(
    rows: AsyncIterator[list[sa.Row[Any]]],
    query: rowquery.Query,
    shown: list[dict[str, str]],
    geo_columns: list[dict[str, str]],
    make: Callable[[list[Any]], dict[str, Any] | None],
) -> AsyncIterator[bytes]:
    """A FeatureCollection; ``query.selected`` is ``shown`` followed by the coordinates."""
    yield b'{"type":"FeatureCollection","features":[\n'
    first = True
    width = len(shown)
    async for page in rows:
        features = []
        for row in page:
            cells = _cells(query, row)
            properties = {"_row": row[0]}
            for column, value in zip(shown, cells[:width], strict=True):
                properties[column["name"]] = rowquery.plain(value)
            feature = {
                "type": "Feature",
                "geometry": make(cells[width : width + len(geo_columns)]),
                "properties": properties,
            }
            features.append(json.dumps(feature, ensure_ascii=False))
        yield (("" if first else ",\n") + ",\n".join(features)).encode()
        first = False
    yield b"\n]}\n"


class _Sink:
    """Where the Parquet writer writes: bytes are taken out as soon as they are written."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


async def to_parquet(
    rows: AsyncIterator[list[sa.Row[Any]]], query: rowquery.Query
) -> AsyncIterator[bytes]:
    """One row group per page, in the column types of the table."""
    schema = pa.schema(
        [(c["name"], rowtables.ARROW_TYPES.get(c["stored"], pa.string())) for c in query.selected]
    )
    sink = _Sink()
    writer = pq.ParquetWriter(sink, schema, compression="zstd")
    try:
        async for page in rows:
            arrays = [
                pa.array([_arrow_value(row[1 + i]) for row in page], type=schema.field(i).type)
                for i in range(len(query.selected))
            ]
            batch = pa.record_batch(arrays, schema=schema)
            await asyncio.to_thread(writer.write_batch, batch)
            if data := sink.take():
                yield data
    finally:
        writer.close()
    yield sink.take()


def _arrow_value(value: Any) -> Any:
    if isinstance(value, float) and value != value:  # NaN stays a missing value
        return None
    return value


async def to_xlsx(
    rows: AsyncIterator[list[sa.Row[Any]]], query: rowquery.Query
) -> AsyncIterator[bytes]:
    """A one-sheet workbook, written to a temporary file (bounded memory), then streamed."""
    with held_dir(prefix=SCRATCH_PREFIX) as tmp:
        path = Path(tmp) / "export.xlsx"
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("données")
        sheet.append([_xlsx_value(c["name"]) for c in query.selected])
        async for page in rows:
            await asyncio.to_thread(_append, sheet, [_cells(query, r) for r in page])
        await asyncio.to_thread(workbook.save, path)
        with path.open("rb") as src:
            while chunk := await asyncio.to_thread(src.read, 1024 * 1024):
                yield chunk


def _append(sheet: Any, rows: list[list[Any]]) -> None:
    for row in rows:
        sheet.append([_xlsx_value(v) for v in row])


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, str):
        return neutralise(NOT_XML.sub("", value))
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, date):
        return value
    return value


def check_xlsx(rows: int) -> None:
    if rows > XLSX_MAX_ROWS:
        raise problems.too_many_rows(rows, XLSX_MAX_ROWS)
