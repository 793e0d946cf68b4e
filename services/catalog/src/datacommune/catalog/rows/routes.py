"""The row API and the exports of a version's table."""

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.catalog import problems
from datacommune.catalog.core import datasets, downloads, downloads_count
from datacommune.catalog.deps import SettingsDep
from datacommune.catalog.rows import columns as rowtables
from datacommune.catalog.rows import exports, loader, schemas
from datacommune.catalog.rows import kept as kept_exports
from datacommune.catalog.rows import query as rowquery
from datacommune.catalog.rows import search as rowsearch
from datacommune.catalog.rows.deps import RowsDep
from datacommune.catalog.rows.store import RowsMissing, RowStore
from datacommune.catalog.tables import RowTable, Version
from datacommune.shared import events, fields
from datacommune.shared.http import RuntimeDep
from datacommune.shared.process.runtime import Runtime

router = APIRouter(prefix="/api/v1", tags=["lignes / rows"])

FILTERS = """
Filtres / filters: ``colonne=valeur`` (=), ``colonne__ne`` (!=), ``__lt`` (<), ``__lte`` (<=),
``__gt`` (>), ``__gte`` (>=), ``__in`` (valeurs séparées par des virgules, ou tableau JSON),
``__contains`` (contient, sans tenir compte de la casse). Ex. ``montant__gte=1000&commune=Roques``.
Recherche / search: ``_search=fête saint`` garde les lignes où chaque mot commence un mot d'une
colonne de texte, sans tenir compte des accents ni de la casse / keeps the rows where each word
begins a word of a text column, accents and case ignored.
"""


def _searchable(table: RowTable, query: rowquery.Query) -> None:
    """A search needs its table's index, built just after the rows are loaded."""
    if query.search and table.search != rowsearch.READY:
        if table.search == rowsearch.FAILED:
            raise problems.search_unavailable()
        raise problems.search_not_ready()


async def _ready(
    runtime: Runtime, rows: RowStore, version_id: uuid.UUID
) -> tuple[Version, RowTable, async_sessionmaker[AsyncSession]]:
    """The version, its loaded table, and sessions that read its rows."""
    async with runtime.reader() as session:
        version = await datasets.get_version(session, version_id)
    return version, *await _loaded(runtime, rows, version)


@contextlib.asynccontextmanager
async def _reading(
    runtime: Runtime, rows: RowStore, version_id: uuid.UUID
) -> AsyncIterator[tuple[Version, RowTable, AsyncSession]]:
    """The version, its loaded table, and a session reading its rows: on PostgreSQL, where
    the rows are in catalog's database, the very session that read the version (a second
    one cost a connection's ping, BEGIN and ROLLBACK, a third of a light request's time)."""
    async with runtime.reader() as session:
        version = await datasets.get_version(session, version_id)
        table, reader = await _loaded(runtime, rows, version)
        if rows.directory is None:
            yield version, table, session
            return
    async with reader() as reading:
        yield version, table, reading


async def _loaded(
    runtime: Runtime, rows: RowStore, version: Version
) -> tuple[RowTable, async_sessionmaker[AsyncSession]]:
    """The version's loaded table and sessions that read its rows, or the problem saying why
    there are none (yet)."""
    table = version.row_table
    if table is None:
        raise problems.no_rows(None)
    if table.status == "failed":
        raise problems.no_rows(table.error)
    if table.status != "ready" or table.columns is None:
        raise problems.rows_not_ready()
    try:
        return table, rows.reader(version.id)
    except RowsMissing:
        # Lost from disk since: loaded again from the stored file, as at a first publication.
        await loader.reload(runtime.sessionmaker, [version.id])
        raise problems.rows_not_ready() from None


@router.get(
    "/versions/{version_id}/rows",
    response_model=schemas.Rows,
    # Written by ``json.dumps`` (pydantic's own JSON writes some floats otherwise: ``2.5e-05``
    # would become ``0.000025``), and returned as a response: the model describes the answer,
    # it is not validated again (a sixth of a 100-row page's time; tests check the answers).
    response_class=JSONResponse,
    summary="Les lignes d'une version, filtrées et triées / a version's rows",
    description=FILTERS,
)
async def rows(
    version_id: uuid.UUID,
    request: Request,
    runtime: RuntimeDep,
    rows_store: RowsDep,
    settings: SettingsDep,
    _sort: str | None = fields.line_query(201, "colonne, ou -colonne (décroissant)"),
    _columns: str | None = fields.line_query(20_000, "colonnes voulues, ex. nom,montant"),
    _size: int = Query(default=rowquery.DEFAULT_SIZE, ge=1, le=rowquery.MAX_SIZE),
    _cursor: str | None = fields.line_query(2000),
    _count: bool = Query(default=True, description="compter les lignes trouvées"),
    _search: str | None = fields.line_query(2000, "mots cherchés dans les colonnes de texte"),
) -> JSONResponse:
    """Filter by column, sort, choose columns; pages follow ``next_cursor`` with no ceiling;
    ``total`` is exact."""
    async with _reading(runtime, rows_store, version_id) as (version, table, session):
        assert table.columns is not None
        assert table.row_count is not None
        query = rowquery.parse(request.query_params.multi_items(), table.columns)
        _searchable(table, query)
        # Rows of large cells come fewer to a page (about 1 MiB), the rest by ``next_cursor``.
        query.size = min(query.size, exports.page_size(version.size, table.row_count))
        tbl = rowtables.table(version.id, table.columns)
        total = rowquery.Total(None)
        if query.count:
            total = await rowquery.bounded_count(session, tbl, query, table.row_count)
        page = await rowquery.page(
            session, tbl, query, total=total.value, estimated=total.estimated
        )
    base = f"{settings.http.public_url}/api/v1/versions/{version.id}"
    next_url = None
    if page.next_cursor:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "_cursor"]
        next_url = f"{base}/rows?{urlencode([*params, ('_cursor', page.next_cursor)])}"
    return JSONResponse(
        {
            "version": str(version.id),
            "columns": [{"name": c["name"], "type": c["type"]} for c in query.selected],
            "total": total.value,
            "total_estimated": total.estimated,
            "rows": page.rows,
            "next_cursor": page.next_cursor,
            "next_url": next_url,
        }
    )


# The exports in JSON shapes are streamed: their schemas are described, not validated.
EXPORT_SCHEMAS = {"json": schemas.EXPORT_JSON, "geojson": schemas.EXPORT_GEOJSON}


@router.get(
    "/versions/{version_id}/rows.{extension}",
    response_class=StreamingResponse,
    summary="Exporter les lignes / export the rows",
    description="Les mêmes filtres, tri et colonnes que /rows ; tout le résultat, en flux."
    + FILTERS,
    responses={
        200: {
            "content": {
                t: {"schema": EXPORT_SCHEMAS[extension]} if extension in EXPORT_SCHEMAS else {}
                for extension, t in exports.MEDIA_TYPES.items()
            }
        }
    },
)
async def export(
    version_id: uuid.UUID,
    extension: Literal["csv", "json", "geojson", "parquet", "xlsx"],
    request: Request,
    runtime: RuntimeDep,
    rows_store: RowsDep,
    _sort: str | None = fields.line_query(201),
    _columns: str | None = fields.line_query(20_000),
    _search: str | None = fields.line_query(2000),
) -> Response:
    """The whole table, or the filtered part of it, in one file. The whole table is made once
    and kept: HEAD, ``Range`` and ``If-None-Match`` work on it as on a published file."""
    version, table, reader = await _ready(runtime, rows_store, version_id)
    assert table.columns is not None
    assert table.row_count is not None
    chosen = ("_sort", "_columns", "_search")
    params = [(k, v) for k, v in request.query_params.multi_items() if k in chosen]
    params += [(k, v) for k, v in request.query_params.multi_items() if not k.startswith("_")]
    query = rowquery.parse(params, table.columns)
    _searchable(table, query)
    tbl = rowtables.table(version.id, table.columns)
    size = exports.page_size(version.size, table.row_count)
    if extension == "xlsx":
        async with reader() as session:
            exports.check_xlsx(await rowquery.count(session, tbl, query, table.row_count))
    if extension == "geojson":
        shape = events.TableShape.model_validate(table.shape)
        reading = exports.geometry_reader(shape.geo, table.columns)
        if reading is None:
            raise problems.no_coordinates()
        geo_columns, make = reading
        shown = query.selected
        query.selected = [*shown, *geo_columns]
        stream = exports.to_geojson(
            exports.pages(reader, tbl, query, size), query, shown, geo_columns, make
        )
    else:
        writer = {
            "csv": exports.to_csv,
            "json": exports.to_json,
            "parquet": exports.to_parquet,
            "xlsx": exports.to_xlsx,
        }[extension]
        stream = writer(exports.pages(reader, tbl, query, size), query)
    stem = downloads.safe_filename(version.filename, str(version.id)).rsplit(".", 1)[0]
    if _whole(request):
        # The whole table: kept once made, then served as a file (length, ranges, ETag).
        filename = f"{stem}.{extension}"
        kept = await kept_exports.find(runtime, version.id, extension)
        if kept is None:
            kept = await kept_exports.keep(runtime, version.id, extension, stream)
        response = downloads.response(
            kept_exports.stored(kept, filename), runtime.store, filename, request
        )
    else:
        filtered = "-extrait" if query.filters or query.search else ""
        response = StreamingResponse(
            stream,
            media_type=exports.MEDIA_TYPES[extension],
            headers={
                "Content-Disposition": downloads.content_disposition(
                    f"{stem}{filtered}.{extension}"
                ),
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "public, max-age=3600",
                # Made as it is sent: no length known beforehand, no part of it to ask for.
                "Accept-Ranges": "none",
            },
        )
    if downloads.counted(request, response):
        async with runtime.sessionmaker.begin() as session:
            await downloads_count.count(session, version.id)
    return response


def _whole(request: Request) -> bool:
    """Whether an export asks for the whole table as it is: no filter, order or column choice."""
    return not request.query_params
