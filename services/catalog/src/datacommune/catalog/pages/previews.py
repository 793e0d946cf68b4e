"""What a dataset's page shows of a tabular version's rows: a map of its points, drawn on the
server (no tile server, nothing loaded from elsewhere), and its first rows, filtered as asked."""

import math
import uuid
from collections import OrderedDict
from typing import Any

import sqlalchemy as sa

from datacommune.catalog.rows import columns as rowtables
from datacommune.catalog.rows import exports
from datacommune.catalog.rows import query as rowquery
from datacommune.catalog.rows.store import RowsMissing, RowStore
from datacommune.catalog.tables import Version
from datacommune.shared import events, geography
from datacommune.shared.problems import Problem

PREVIEW_ROWS = 20

MAP_POINTS = 5000
MAP_WIDTH, MAP_HEIGHT, MAP_MARGIN = 640, 420, 12


# A version's rows never change: its drawing is kept, for the versions seen last.
_MAPS: OrderedDict[uuid.UUID, dict[str, Any] | None] = OrderedDict()
MAPS_KEPT = 128


async def map_of(rows: RowStore, version: Version) -> dict[str, Any] | None:
    """The points of a version with coordinates, drawn as an SVG the server writes: no script,
    no tile server, nothing loaded from elsewhere (the first ``MAP_POINTS`` rows)."""
    table = version.row_table
    if table is None or table.status != "ready" or not table.columns or not table.shape:
        return None
    if version.id in _MAPS:
        _MAPS.move_to_end(version.id)
        return _MAPS[version.id]
    try:
        drawn = await _draw(rows, version)
    except RowsMissing:
        return None  # the row API queues it again; the page shows no map meanwhile
    _MAPS[version.id] = drawn
    if len(_MAPS) > MAPS_KEPT:
        _MAPS.popitem(last=False)
    return drawn


async def _draw(rows: RowStore, version: Version) -> dict[str, Any] | None:
    table = version.row_table
    assert table is not None
    assert table.columns is not None
    shape = events.TableShape.model_validate(table.shape)
    reading = exports.geometry_reader(shape.geo, table.columns)
    if reading is None:
        return None
    geo_columns, make = reading
    tbl = rowtables.table(version.id, table.columns)
    selected = [tbl.c[c["column"]] for c in geo_columns]
    async with rows.reader(version.id)() as session:
        found = (
            await session.execute(sa.select(*selected).order_by(tbl.c._row).limit(MAP_POINTS))
        ).all()
    points = []
    for row in found:
        geometry = make(list(row))
        if geometry and geometry.get("type") == "Point":
            # GeoJSON allows an altitude, and a harvested geometry may be anything.
            xy = (geometry.get("coordinates") or [])[:2]
            if len(xy) == 2 and all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                for v in xy
            ):
                points.append((float(xy[0]), float(xy[1])))
    if not points:
        return None
    # A map of points in the sea is worse than none: say when they look swapped, or not in France.
    outside = [(x, y) for x, y in points if geography.territory(x, y) is None]
    swapped = sum(1 for x, y in outside if geography.territory(y, x) is not None)
    west, east = min(p[0] for p in points), max(p[0] for p in points)
    south, north = min(p[1] for p in points), max(p[1] for p in points)
    # Equirectangular, a degree of longitude shortened by the cosine of the middle latitude.
    shrink = math.cos(math.radians((south + north) / 2))
    width = max((east - west) * shrink, 1e-6)
    height = max(north - south, 1e-6)
    scale = min((MAP_WIDTH - 2 * MAP_MARGIN) / width, (MAP_HEIGHT - 2 * MAP_MARGIN) / height)
    # One path of zero-length strokes with round ends: a dot per point, in one element (a
    # tenth of the bytes and of the rendering time of 5,000 circles).
    path = "".join(
        f"M{MAP_MARGIN + (x - west) * shrink * scale:.1f} "
        f"{MAP_HEIGHT - MAP_MARGIN - (y - south) * scale:.1f}h0"
        for x, y in points
    )
    return {
        "width": MAP_WIDTH,
        "height": MAP_HEIGHT,
        "path": path,
        "count": len(points),
        "bounds": (round(west, 5), round(south, 5), round(east, 5), round(north, 5)),
        "truncated": len(points) >= MAP_POINTS,
        "outside": len(outside),
        "swapped": swapped,
    }


async def preview(
    rows: RowStore, version: Version, wanted: list[tuple[str, str]]
) -> dict[str, Any] | None:
    """A page of the rows of a version whose table is loaded (None otherwise), filtered as
    asked; a filter the row API refuses is shown with its reason, over the first rows."""
    table = version.row_table
    if table is None or table.status != "ready" or table.columns is None:
        return None
    error = None
    try:
        query = rowquery.parse([("_size", str(PREVIEW_ROWS)), *wanted], table.columns)
    except Problem as problem:
        error = problem
        query = rowquery.parse([("_size", str(PREVIEW_ROWS))], table.columns)
    try:
        async with rows.reader(version.id)() as session:
            page = await rowquery.page(session, rowtables.table(version.id, table.columns), query)
    except RowsMissing:
        return None
    return {
        "columns": [c["name"] for c in query.selected],
        "rows": page.rows,
        "total": table.row_count,
        "filtered": bool(query.filters),
        "next_cursor": page.next_cursor,
        "error": error,
    }
