"""The row API on both databases: loading, filters, sorted keyset pages, counts, exports."""

import asyncio
import contextlib
import csv
import io
import json
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from datacommune.catalog import problems
from datacommune.catalog.rows import columns as rowtables
from datacommune.catalog.rows import exports
from datacommune.catalog.rows import loader as rowloader
from datacommune.catalog.rows import query as rowquery
from datacommune.catalog.rows import store as rowstore
from datacommune.catalog.rows.loader import RowLoader
from datacommune.catalog.rows.store import RowStore
from datacommune.catalog.tables import RowTable, Version
from datacommune.shared import events
from datacommune.shared.db import make_engine, make_reader, make_sessionmaker
from datacommune.shared.settings import DatabaseSettings
from datacommune.shared.storage import LocalObjectStore
from tests.catalog.publishing import publish_csv

ROWS = 137
FIELDS = [
    events.TableField(name="nom", type="string"),
    events.TableField(name="montant", type="number"),
    events.TableField(name="annee", type="integer"),
    events.TableField(name="vote_le", type="date", format="%d/%m/%Y"),
    events.TableField(name="actif", type="boolean"),
    events.TableField(name="code", type="integer"),
    events.TableField(name="lat", type="number"),
    events.TableField(name="long", type="number"),
]


def records() -> list[dict[str, Any]]:
    """Rows with blanks, repeated values, French decimals and a formula-like name."""
    out = []
    for i in range(ROWS):
        out.append(
            {
                "nom": '=HYPERLINK("x")' if i == 5 else f"Association n°{i % 40} é",
                "montant": None if i % 11 == 0 else round((i * 37) % 500 + 0.5, 1),
                "annee": 2020 + i % 5,
                "vote_le": date(2024, 1 + i % 12, 1 + i % 28),
                "actif": i % 3 == 0,
                # One value that is not an integer: the column is kept as text.
                "code": "31A" if i == 77 else str(31000 + i),
                "lat": 43.5 + i / 1000,
                "long": 1.4 + i / 1000,
            }
        )
    return out


def cp1252_csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([f.name for f in FIELDS])
    for r in rows:
        writer.writerow(
            [
                r["nom"],
                "" if r["montant"] is None else str(r["montant"]).replace(".", ","),
                r["annee"],
                r["vote_le"].strftime("%d/%m/%Y"),
                "oui" if r["actif"] else "non",
                r["code"],
                r["lat"],
                r["long"],
            ]
        )
        if r["annee"] == 2022 and r["actif"]:
            writer.writerow([])  # a blank record is skipped, its number is not reused
    return out.getvalue().encode("cp1252")


@dataclass
class Loaded:
    sessionmaker: async_sessionmaker[AsyncSession]
    engine: AsyncEngine
    table: RowTable
    version: Version

    @property
    def columns(self) -> list[dict[str, str]]:
        assert self.table.columns is not None
        return self.table.columns

    def tbl(self) -> Any:
        return rowtables.table(self.version.id, self.columns)

    async def query(self, params: list[tuple[str, str]]) -> tuple[list[dict[str, Any]], int]:
        query = rowquery.parse(params, self.columns)
        async with self.sessionmaker() as session:
            page = await rowquery.page(session, self.tbl(), query)
            total = await rowquery.count(session, self.tbl(), query, self.table.row_count or 0)
        return page.rows, total

    async def walk(self, params: list[tuple[str, str]], size: int = 7) -> list[dict[str, Any]]:
        """Every row, following cursors."""
        seen: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            extra = [("_size", str(size))] + ([("_cursor", cursor)] if cursor else [])
            query = rowquery.parse(params + extra, self.columns)
            async with self.sessionmaker() as session:
                page = await rowquery.page(session, self.tbl(), query)
            seen += page.rows
            if not page.next_cursor:
                return seen
            cursor = page.next_cursor


async def publish_table(
    catalog_url: str, store: LocalObjectStore
) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    """The catalogue after one tabular version was published: its row table waits."""
    engine = make_engine(DatabaseSettings(url=catalog_url))
    sessionmaker = make_sessionmaker(engine)
    content = cp1252_csv(records())
    await store.put_bytes("files/table", content, media_type="text/csv")
    await publish_csv(
        sessionmaker,
        object_key="files/table",
        size=len(content),
        rows=ROWS,
        fields=FIELDS,
        encoding="cp1252",
        source="test",
    )
    return engine, sessionmaker


@pytest.fixture
async def loaded(catalog_url: str, tmp_path: Path) -> AsyncIterator[Loaded]:
    store = LocalObjectStore(tmp_path / "files")
    engine, sessionmaker = await publish_table(catalog_url, store)
    loader = RowLoader(engine, sessionmaker, store)
    assert await loader.load_next()
    assert not await loader.load_next()
    reader = make_reader(engine)
    async with reader() as session:
        version = await session.scalar(select(Version))
    assert version is not None
    assert version.row_table is not None
    rows = RowStore(engine)
    yield Loaded(rows.reader(version.id), engine, version.row_table, version)
    await rows.close()
    await engine.dispose()


def expected(predicate: Any = None) -> list[dict[str, Any]]:
    return [r for r in records() if predicate is None or predicate(r)]


async def test_loads_typed_columns_and_keeps_every_cell(loaded: Loaded) -> None:
    assert loaded.table.status == "ready"
    assert loaded.table.row_count == ROWS
    kinds = {c["name"]: c["stored"] for c in loaded.columns}
    assert kinds == {
        "nom": "string",
        "montant": "number",
        "annee": "integer",
        "vote_le": "date",
        "actif": "boolean",
        "code": "string",  # « 31A » is not an integer: the column is text, nothing lost
        "lat": "number",
        "long": "number",
    }
    rows, total = await loaded.query([("_size", "3")])
    assert total == ROWS
    assert rows[0] == {
        "_row": 2,
        "nom": "Association n°0 é",
        "montant": None,
        "annee": 2020,
        "vote_le": "2024-01-01",
        "actif": True,
        "code": "31000",
        "lat": 43.5,
        "long": 1.4,
    }
    every = await loaded.walk([], size=50)
    assert len(every) == ROWS
    assert [r["code"] for r in every] == [r["code"] for r in records()]
    # Record numbers follow the file, blank records included: they match validation reports.
    assert every[-1]["_row"] > ROWS + 1


@pytest.mark.parametrize(
    ("params", "predicate"),
    [
        ([("annee", "2022")], lambda r: r["annee"] == 2022),
        ([("annee__ne", "2022")], lambda r: r["annee"] != 2022),
        ([("montant__lt", "100")], lambda r: r["montant"] is not None and r["montant"] < 100),
        ([("montant__lte", "100.5")], lambda r: r["montant"] is not None and r["montant"] <= 100.5),
        ([("montant__gt", "400")], lambda r: r["montant"] is not None and r["montant"] > 400),
        ([("vote_le__gte", "15/06/2024")], lambda r: r["vote_le"] >= date(2024, 6, 15)),
        ([("code__in", "31001,31003,31A")], lambda r: r["code"] in {"31001", "31003", "31A"}),
        ([("annee__in", "[2020, 2024]")], lambda r: r["annee"] in {2020, 2024}),
        ([("nom__contains", "N°1")], lambda r: "n°1" in r["nom"].lower()),
        # Wildcards of LIKE are plain characters; the case of a letter with an accent counts.
        ([("nom__contains", '=HYPERLINK("X')], lambda r: r["nom"].startswith("=HYPERLINK")),
        ([("nom__contains", "N°1_ É")], lambda r: False),
        ([("nom__contains", "N°1% é")], lambda r: False),
        ([("nom__contains", "n°12 é")], lambda r: "n°12 é" in r["nom"].lower()),
        ([("actif", "oui"), ("annee__gte", "2023")], lambda r: r["actif"] and r["annee"] >= 2023),
        ([("montant__ne", "0.5")], lambda r: r["montant"] != 0.5),
    ],
)
async def test_filters(loaded: Loaded, params: list[tuple[str, str]], predicate: Any) -> None:
    want = [r["code"] for r in expected(predicate)]
    rows, total = await loaded.query([*params, ("_size", "1000")])
    assert total == len(want)
    assert [r["code"] for r in rows] == want


@pytest.mark.parametrize("descending", [False, True])
async def test_sorted_pages_walk_every_row_once(loaded: Loaded, descending: bool) -> None:
    """Blank amounts sort last going up, first going down; ties keep a stable order."""
    sign = "-" if descending else ""
    walked = await loaded.walk([("_sort", f"{sign}montant"), ("annee__ne", "2021")], size=7)
    wanted = expected(lambda r: r["annee"] != 2021)
    assert len(walked) == len(wanted)
    assert len({r["_row"] for r in walked}) == len(walked)
    amounts = [r["montant"] for r in walked]
    values = [a for a in amounts if a is not None]
    assert values == sorted(values, reverse=descending)
    blanks = [i for i, a in enumerate(amounts) if a is None]
    assert blanks, "some amounts are blank"
    if descending:
        assert blanks == list(range(len(blanks)))
    else:
        assert blanks == list(range(len(amounts) - len(blanks), len(amounts)))


async def test_sort_on_dates_and_chosen_columns(loaded: Loaded) -> None:
    walked = await loaded.walk([("_sort", "-vote_le"), ("_columns", "nom,annee")], size=9)
    assert len(walked) == ROWS
    assert set(walked[0]) == {"_row", "nom", "annee"}
    got = await loaded.walk([("_sort", "-vote_le"), ("_columns", "code,vote_le")], size=9)
    assert [r["vote_le"] for r in got] == sorted(
        (r["vote_le"].isoformat() for r in records()), reverse=True
    )


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ([("commune", "Roques")], "Pas de colonne « commune »"),
        ([("montant__gt", "beaucoup")], "n'est pas une valeur de type number"),
        ([("montant__like", "1")], "Opérateur « like » inconnu"),
        ([("_sort", "-inconnue")], "Pas de colonne « inconnue »"),
        ([("_columns", "nom,rien")], "Pas de colonne « rien »"),
        ([("_size", "5000")], "_size va de 1 à 1000"),
    ],
)
async def test_bad_queries_are_explained(
    loaded: Loaded, params: list[tuple[str, str]], says: str
) -> None:
    with pytest.raises(problems.InvalidFilter) as caught:
        rowquery.parse(params, loaded.columns)
    assert says in caught.value.detail
    assert "montant" in caught.value.extensions["columns"]


async def test_a_cursor_serves_only_its_own_query(loaded: Loaded) -> None:
    query = rowquery.parse([("_sort", "montant"), ("_size", "5")], loaded.columns)
    async with loaded.sessionmaker() as session:
        page = await rowquery.page(session, loaded.tbl(), query)
    assert page.next_cursor
    for params in (
        [("_sort", "-montant")],
        [("_sort", "montant"), ("annee", "2020")],
        [],
    ):
        with pytest.raises(problems.InvalidCursor):
            rowquery.parse([*params, ("_cursor", page.next_cursor)], loaded.columns)
    with pytest.raises(problems.InvalidCursor):
        rowquery.parse([("_cursor", "pas-un-curseur")], loaded.columns)


async def collect(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


async def test_exports_stream_every_format(loaded: Loaded, tmp_path: Path) -> None:
    query = rowquery.parse([("annee", "2020")], loaded.columns)
    reader = loaded.sessionmaker
    want = expected(lambda r: r["annee"] == 2020)
    exports_page = exports.PAGE
    exports.PAGE = 4  # several pages, as a big table would have
    try:
        as_csv = await collect(exports.to_csv(exports.pages(reader, loaded.tbl(), query), query))
        as_json = await collect(exports.to_json(exports.pages(reader, loaded.tbl(), query), query))
        as_parquet = await collect(
            exports.to_parquet(exports.pages(reader, loaded.tbl(), query), query)
        )
        as_xlsx = await collect(exports.to_xlsx(exports.pages(reader, loaded.tbl(), query), query))
        shape = events.TableShape.model_validate(loaded.table.shape)
        reading = exports.geometry_reader(shape.geo, loaded.columns)
        assert reading is not None
        geo_columns, make = reading
        shown = [c for c in loaded.columns if c["name"] in ("nom", "code")]
        geo_query = rowquery.parse([("annee", "2020")], loaded.columns)
        geo_query.selected = [*shown, *geo_columns]
        as_geojson = await collect(
            exports.to_geojson(
                exports.pages(reader, loaded.tbl(), geo_query), geo_query, shown, geo_columns, make
            )
        )
    finally:
        exports.PAGE = exports_page

    table = list(csv.reader(io.StringIO(as_csv.decode())))
    assert table[0] == [f.name for f in FIELDS]
    assert [r[5] for r in table[1:]] == [r["code"] for r in want]
    # The formula is neutralised for spreadsheets; numbers stay numbers.
    assert table[1 + [r["code"] for r in want].index("31005")][0] == '\'=HYPERLINK("x")'
    assert table[2][1] == str(want[1]["montant"])

    parsed = json.loads(as_json)
    assert [r["code"] for r in parsed] == [r["code"] for r in want]
    assert parsed[1]["nom"] == want[1]["nom"]

    arrow = pq.read_table(io.BytesIO(as_parquet))
    assert arrow.num_rows == len(want)
    assert str(arrow.schema.field("montant").type) == "double"
    assert str(arrow.schema.field("vote_le").type) == "date32[day]"
    assert arrow.column("nom").to_pylist()[1] == '=HYPERLINK("x")'  # data, not a spreadsheet

    path = tmp_path / "export.xlsx"
    path.write_bytes(as_xlsx)
    workbook = load_workbook(path, read_only=True)
    sheet = workbook.active
    assert sheet is not None
    cells = list(sheet.iter_rows(values_only=True))
    workbook.close()
    assert cells[0][0] == "nom"
    assert len(cells) == len(want) + 1
    assert cells[2][0] == '\'=HYPERLINK("x")'
    assert cells[1][2] == 2020

    collection = json.loads(as_geojson)
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == len(want)
    first = collection["features"][0]
    assert first["geometry"] == {"type": "Point", "coordinates": [1.4, 43.5]}
    assert set(first["properties"]) == {"_row", "nom", "code"}


def test_points_from_table_schema_geopoints() -> None:
    columns = [{"name": "xy", "column": "c0", "type": "geopoint", "stored": "string"}]
    for fmt, value in (
        ("default", "1.44, 43.6"),
        ("array", "[1.44, 43.6]"),
        ("object", '{"lon": 1.44, "lat": 43.6}'),
    ):
        reading = exports.geometry_reader(events.GeoColumns(point="xy", point_format=fmt), columns)
        assert reading is not None
        assert reading[1]([value]) == {"type": "Point", "coordinates": [1.44, 43.6]}
    reading = exports.geometry_reader(events.GeoColumns(point="xy"), columns)
    assert reading is not None
    assert reading[1](["hors de la carte"]) is None
    assert reading[1](["200, 43"]) is None
    assert exports.geometry_reader(None, columns) is None


def test_geometries_from_wkt_and_lat_first_pairs() -> None:
    columns = [{"name": "g", "column": "c0", "type": "string", "stored": "string"}]
    wkt = exports.geometry_reader(events.GeoColumns(geometry="g", geometry_format="wkt"), columns)
    assert wkt is not None
    assert wkt[1](["SRID=4326;POINT (1.44 43.6)"]) == {"type": "Point", "coordinates": [1.44, 43.6]}
    square = wkt[1](["POLYGON ((1 43, 2 43, 2 44, 1 43))"])
    assert square == {"type": "Polygon", "coordinates": [[[1, 43], [2, 43], [2, 44], [1, 43]]]}
    # Whatever a cell holds, a feature without geometry, never an error.
    for cell in ("", "POINT EMPTY", "POINT (a b)", "POINT(1e400 2)", "CIRCULARSTRING(1 2)", None):
        assert wkt[1]([cell]) is None
    pairs = exports.geometry_reader(events.GeoColumns(point="g", point_format="latlon"), columns)
    assert pairs is not None
    assert pairs[1](["43.6, 1.44"]) == {"type": "Point", "coordinates": [1.44, 43.6]}


async def test_a_filter_on_the_sort_column_and_the_total_in_the_cursor(loaded: Loaded) -> None:
    params = [("_sort", "-montant"), ("montant__gte", "100"), ("_size", "10")]
    want = sorted(
        (r["montant"] for r in records() if r["montant"] is not None and r["montant"] >= 100),
        reverse=True,
    )
    assert await loaded.walk(params[:2], size=10) == await loaded.walk(params[:2], size=10)
    assert [r["montant"] for r in await loaded.walk(params[:2], size=10)] == want
    first = rowquery.parse(params, loaded.columns)
    async with loaded.sessionmaker() as session:
        total = await rowquery.count(session, loaded.tbl(), first, loaded.table.row_count or 0)
        page = await rowquery.page(session, loaded.tbl(), first, total=total)
    assert total == len(want)
    assert page.next_cursor
    second = rowquery.parse([*params, ("_cursor", page.next_cursor)], loaded.columns)
    assert second.after is not None
    assert second.after["t"] == total
    assert rowquery.rowtables.table(loaded.version.id, loaded.columns) is loaded.tbl()


class SlowStore(LocalObjectStore):
    """A store whose downloads take a while, or never end: a loader caught mid-load."""

    def __init__(self, root: Path, seconds: float) -> None:
        super().__init__(root)
        self.seconds = seconds
        self.started = asyncio.Event()

    async def download(self, key: str, path: Path) -> None:
        self.started.set()
        await asyncio.sleep(self.seconds)
        await super().download(key, path)


async def lease(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[str, datetime | None]:
    async with sessionmaker() as session:
        table = await session.scalar(select(RowTable))
    assert table is not None
    return table.status, table.lease_until


async def test_a_loader_keeps_its_lease_however_long_the_load(
    catalog_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lease is short (a crashed loader's table waits that long) and renewed meanwhile, so
    a second replica never takes over a table that is still being loaded."""
    monkeypatch.setattr(rowloader, "LEASE", timedelta(seconds=1))
    monkeypatch.setattr(rowloader, "RENEW_SECONDS", 0.2)
    store = SlowStore(tmp_path / "files", seconds=2.5)
    engine, sessionmaker = await publish_table(catalog_url, store)
    first = asyncio.create_task(RowLoader(engine, sessionmaker, store).load_next())
    await store.started.wait()
    status, claimed_until = await lease(sessionmaker)
    assert status == "loading"
    await asyncio.sleep(1.5)  # longer than the lease
    assert not await RowLoader(engine, sessionmaker, store).load_next()
    _, renewed_until = await lease(sessionmaker)
    assert renewed_until is not None
    assert claimed_until is not None
    assert renewed_until > claimed_until
    assert await first
    assert (await lease(sessionmaker)) == ("ready", None)
    await engine.dispose()


async def test_a_stopped_loader_hands_its_table_back_and_a_crashed_one_within_its_lease(
    catalog_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rowloader, "LEASE", timedelta(seconds=1))
    store = SlowStore(tmp_path / "files", seconds=3600)
    engine, sessionmaker = await publish_table(catalog_url, store)
    # SIGTERM: the service cancels its loader, which gives the table back at once.
    stopped = asyncio.create_task(RowLoader(engine, sessionmaker, store).load_next())
    await store.started.wait()
    stopped.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopped
    assert (await lease(sessionmaker)) == ("pending", None)
    # SIGKILL: nothing is given back; another loader takes the table when the lease ends.
    killed = RowLoader(engine, sessionmaker, store)
    assert await killed._claim() is not None
    store.seconds = 0
    assert not await RowLoader(engine, sessionmaker, store).load_next()
    await asyncio.sleep(1.1)
    assert await RowLoader(engine, sessionmaker, store).load_next()
    assert (await lease(sessionmaker))[0] == "ready"
    await engine.dispose()


async def test_on_sqlite_a_version_s_rows_are_a_file_of_their_own(loaded: Loaded) -> None:
    """catalog's database keeps a fixed schema: a table per version there made every new
    connection re-read thousands of tables (docs/operations.md)."""
    if loaded.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL keeps rows in its database")
    async with loaded.engine.connect() as connection:
        names = (await connection.exec_driver_sql("SELECT name FROM sqlite_master")).scalars()
        assert not [n for n in names if n.startswith(("rows_", "ix_rows_"))]
    rows = RowStore(loaded.engine)
    assert rows.directory is not None
    assert [p.name for p in rows.directory.iterdir()] == [rows.path(loaded.version.id).name]


async def test_a_file_replaced_under_open_connections_is_read_anew(
    loaded: Loaded, tmp_path: Path
) -> None:
    """Readers keep their connections open between requests; a new load puts another file
    in place (by this process or another), which the next session reads."""
    if loaded.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL keeps rows in its database")
    rows = RowStore(loaded.engine)
    version_id = loaded.version.id
    count = select(func.count()).select_from(text(f"rows_{version_id.hex}"))
    async with rows.reader(version_id)() as session:
        assert await session.scalar(count) == ROWS
    # Another loader's file: written beside, then renamed into place, as loads are.
    other = tmp_path / "other.sqlite"
    shutil.copyfile(rows.path(version_id), other)
    with contextlib.closing(sqlite3.connect(other)) as connection:
        connection.execute(f"DELETE FROM rows_{version_id.hex} WHERE _row > 5")
        connection.commit()
        (left,) = connection.execute(f"SELECT count(*) FROM rows_{version_id.hex}").fetchone()
    assert 0 < left < ROWS
    os.replace(other, rows.path(version_id))
    async with rows.reader(version_id)() as session:
        assert await session.scalar(count) == left
    await rows.close()


async def test_rows_lost_from_disk_are_loaded_again(catalog_url: str, tmp_path: Path) -> None:
    if not catalog_url.startswith("sqlite"):
        # Before any engine is made: one left undisposed would warn in a later test.
        pytest.skip("PostgreSQL keeps rows in its database")
    store = LocalObjectStore(tmp_path / "files")
    engine, sessionmaker = await publish_table(catalog_url, store)
    loader = RowLoader(engine, sessionmaker, store)
    assert await loader.load_next()
    rows = RowStore(engine)
    async with sessionmaker() as session:
        version_id = await session.scalar(select(RowTable.version_id))
    assert version_id is not None
    # A database restored without its rows folder, or the folder deleted.
    rows.path(version_id).unlink()
    with pytest.raises(rowstore.RowsMissing):
        rows.reader(version_id)
    assert await loader.reload_missing() == 1
    assert (await lease(sessionmaker))[0] == "pending"
    assert await loader.load_next()
    async with rows.reader(version_id)() as session:
        assert (
            await session.scalar(select(func.count()).select_from(text(f"rows_{version_id.hex}")))
            == ROWS
        )
    assert await loader.reload_missing() == 0
    await engine.dispose()


async def test_a_partial_file_is_swept_once_no_loader_can_be_writing_it(tmp_path: Path) -> None:
    engine = make_engine(DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}"))
    rows = RowStore(engine)
    assert rows.directory == tmp_path / "catalog-rows"
    stale = rows.directory / f"{uuid.uuid4().hex}.{uuid.uuid4().hex}{rowstore.PARTIAL}"
    fresh = rows.directory / f"{uuid.uuid4().hex}.{uuid.uuid4().hex}{rowstore.PARTIAL}"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"x")
    old = time.time() - rowstore.STALE_SECONDS - 1
    os.utime(stale, (old, old))
    assert rows.sweep() == [stale.name]
    assert fresh.exists()
    await engine.dispose()


async def test_a_file_pyarrow_cannot_read_record_for_record_is_loaded_by_python(
    catalog_url: str, tmp_path: Path
) -> None:
    """A short record and a byte Windows-1252 does not define: pyarrow refuses the file, the
    Python path loads it (the record padded with NULLs, the byte as « � »), numbers kept."""
    store = LocalObjectStore(tmp_path / "files")
    engine = make_engine(DatabaseSettings(url=catalog_url))
    sessionmaker = make_sessionmaker(engine)
    content = b"nom;montant;annee\r\nA\x81;1,5;2024\r\nB\r\n\r\nC;2;2023\r\n"
    await store.put_bytes("files/ragged", content, media_type="text/csv")
    await publish_csv(
        sessionmaker,
        object_key="files/ragged",
        size=len(content),
        rows=3,
        fields=FIELDS,
        encoding="cp1252",
        source="test",
    )
    assert await RowLoader(engine, sessionmaker, store).load_next()
    async with sessionmaker() as session:
        table = await session.scalar(select(RowTable))
    assert table is not None
    assert table.status == "ready", table.error
    assert table.columns is not None
    tbl = rowtables.table(table.version_id, table.columns)
    async with RowStore(engine).reader(table.version_id)() as session:
        rows = (await session.execute(select(tbl).order_by(tbl.c._row))).all()
    assert [tuple(r) for r in rows] == [
        (2, "A\ufffd", 1.5, 2024),
        (3, "B", None, None),
        (5, "C", 2.0, 2023),
    ]
    await engine.dispose()


SLOW_COUNT = text(
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000000) "
    "SELECT count(*) FROM c"
)


async def test_a_count_that_takes_too_long_is_given_up_and_the_page_still_answers(
    loaded: Loaded,
) -> None:
    async with loaded.sessionmaker() as session:
        started = time.monotonic()
        assert await rowquery._within(session, SLOW_COUNT, 0.05) is None  # type: ignore[arg-type]
        assert time.monotonic() - started < 5
        # The same session reads on, its time limit gone (a slow page is no timeout).
        query = rowquery.parse([("_size", "5")], loaded.columns)
        page = await rowquery.page(session, loaded.tbl(), query)
        assert len(page.rows) == 5
        assert (
            await rowquery._within(session, select(func.count()).select_from(loaded.tbl()), 5)
            == ROWS
        )


async def test_a_count_given_up_is_estimated_and_the_estimate_rides_in_the_cursor(
    loaded: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = rowquery._within
    calls: list[str] = []

    async def exact_too_slow(session: Any, stmt: Any, seconds: float) -> int | None:
        calls.append(str(stmt))
        return None if len(calls) == 1 else await real(session, stmt, seconds)

    monkeypatch.setattr(rowquery, "_within", exact_too_slow)
    params = [("nom__contains", "association"), ("_size", "10")]
    query = rowquery.parse(params, loaded.columns)
    assert loaded.table.row_count == ROWS
    async with loaded.sessionmaker() as session:
        total = await rowquery.bounded_count(session, loaded.tbl(), query, ROWS)
        page = await rowquery.page(
            session, loaded.tbl(), query, total=total.value, estimated=total.estimated
        )
    numbers = [r["_row"] for r in await loaded.walk(params[:1], size=50)]
    sampled = sum(1 for n in numbers if n % rowquery.SAMPLE_EVERY == 0)
    assert total == rowquery.Total(min(ROWS, sampled * rowquery.SAMPLE_EVERY), estimated=True)
    assert page.next_cursor is not None
    after = rowquery.parse([*params, ("_cursor", page.next_cursor)], loaded.columns)
    async with loaded.sessionmaker() as session:
        assert await rowquery.bounded_count(session, loaded.tbl(), after, ROWS) == total
    # Unfiltered, the stored total: exact, nothing counted.
    plain = rowquery.parse([("_size", "10")], loaded.columns)
    async with loaded.sessionmaker() as session:
        assert await rowquery.bounded_count(session, loaded.tbl(), plain, ROWS) == rowquery.Total(
            ROWS
        )
    assert len(calls) == 2
