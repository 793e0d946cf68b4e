"""Where a table keeps its coordinates (WGS 84), so that catalog maps it and exports GeoJSON
only when there is something to place.

Found, in this order (the first that holds wins, docs/rows.md « Coordonnées »):
1. declared by the schema: a ``french-gps-coordinates`` check names its columns;
2. typed by the schema or inferred: a ``geopoint`` or ``geojson`` field;
3. named: a latitude and a longitude column by the names the national schemas use, kept only
   if their first values are degrees (Lambert-93 ``x``/``y`` are metres);
4. read from the values: a text column holding WKT (``POINT (1.44 43.6)``) or GeoJSON
   geometries, a ``"lat, lon"`` pair as OpenDataSoft exports it (``geo_point_2d``), or two
   columns named ``x``/``y`` whose values are all degrees.
"""

import json
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from datacommune.shared import events
from datacommune.validate.checks.french_rules import territory

# Column names that hold a latitude or a longitude in WGS 84, once lower-cased and unaccented:
# SCDL's ``lat``/``long``, the national schemas' ``Ylat``/``Xlong`` (covoiturage, stationnement)
# and ``Ylatitude``/``Xlongitude`` (IRVE 1.x), and ``latitude``, ``lon``, ``lng``, ``y_wgs84``,
# ``consolidated_latitude``…
LATITUDE = re.compile(r"^(.*[_ ])?y?(lat|latitude|y_?wgs84|wgs84_?y)$")
LONGITUDE = re.compile(r"^(.*[_ ])?x?(lon|long|lng|longitude|x_?wgs84|wgs84_?x)$")
# A bare ``x``/``y`` (``coord_x``, ``coordonnee_y``) is taken only when its values are degrees.
BARE_X = re.compile(r"^(.*[_ ])?(x|coordx|coord_x)$")
BARE_Y = re.compile(r"^(.*[_ ])?(y|coordy|coord_y)$")
# The geometry kinds of WKT, with an optional EWKT ``SRID=4326;`` before them.
WKT = re.compile(
    r"^\s*(srid=4326;)?\s*(point|linestring|polygon|multipoint|multilinestring|multipolygon"
    r"|geometrycollection)\s*(z|m|zm)?\s*(\(|empty)",
    re.IGNORECASE,
)
# Most of the values seen must agree for a column to be read as coordinates.
AGREEING = 0.8


def find(
    header: list[str],
    fields: list[dict[str, Any]],
    declared: Iterable[dict[str, Any]],
    rows: list[list[str]],
) -> events.GeoColumns | None:
    """The coordinates of a table, from its schema's checks, its fields' types, its column names
    and its first ``rows`` (values under ``header``)."""
    columns = {name: [row[i] for row in rows if i < len(row)] for i, name in enumerate(header)}
    return (
        _declared(declared, columns)
        or _typed(fields, columns)
        or _named(header, columns)
        or _from_values(header, columns)
    )


def _declared(
    declared: Iterable[dict[str, Any]], columns: dict[str, list[str]]
) -> events.GeoColumns | None:
    for check in declared:
        if check.get("name") != "french-gps-coordinates":
            continue
        params = check.get("params") or {}
        latitude, longitude = params.get("latitude"), params.get("longitude")
        if latitude in columns and longitude in columns:
            return events.GeoColumns(latitude=latitude, longitude=longitude, found="schema")
        if (column := params.get("column")) in columns:
            return events.GeoColumns(
                point=column, point_format=_pair_order(columns[column]), found="schema"
            )
    return None


def _typed(fields: list[dict[str, Any]], columns: dict[str, list[str]]) -> events.GeoColumns | None:
    for field in fields:
        if field.get("type") == "geopoint":
            fmt = field.get("format") or "default"
            if fmt == "default":
                # « lat, lon » passes as a geopoint too (43.6 is a longitude): where only that
                # order falls in France, as OpenDataSoft writes it, it is read so.
                fmt = _pair_order(columns.get(field["name"], []))
            return events.GeoColumns(point=field["name"], point_format=fmt, found="type")
    for field in fields:
        if field.get("type") == "geojson":
            return events.GeoColumns(geometry=field["name"], found="type")
    return None


def _named(header: list[str], columns: dict[str, list[str]]) -> events.GeoColumns | None:
    latitude = next((h for h in header if LATITUDE.match(_plain(h))), None)
    longitude = next((h for h in header if LONGITUDE.match(_plain(h))), None)
    if latitude is None or longitude is None:
        return None
    if not (_degrees(columns[latitude], 90) and _degrees(columns[longitude], 180)):
        return None
    return events.GeoColumns(latitude=latitude, longitude=longitude, found="name")


def _from_values(header: list[str], columns: dict[str, list[str]]) -> events.GeoColumns | None:
    for name in header:
        values = _filled(columns[name])
        if values and _share(values, lambda v: bool(WKT.match(v))):
            return events.GeoColumns(geometry=name, geometry_format="wkt", found="values")
        if values and _share(values, _is_geojson):
            return events.GeoColumns(geometry=name, found="values")
    for name in header:
        values = _filled(columns[name])
        if values and _share(values, lambda v: _pair(v) is not None):
            return events.GeoColumns(point=name, point_format=_pair_order(values), found="values")
    x = next((h for h in header if BARE_X.match(_plain(h))), None)
    y = next((h for h in header if BARE_Y.match(_plain(h))), None)
    if x and y and _fractional(columns[x]) and _fractional(columns[y]):
        if _degrees(columns[x], 180) and _degrees(columns[y], 90):
            return events.GeoColumns(latitude=y, longitude=x, found="values")
    return None


def _plain(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return ascii_name.strip().lower()


def _filled(values: list[str]) -> list[str]:
    return [v for v in values if v.strip()]


def _share(values: list[str], test: Any) -> bool:
    return sum(1 for v in values if test(v)) >= AGREEING * len(values)


def _number(value: str) -> float | None:
    try:
        return float(value.strip().replace(",", "."))
    except ValueError:
        return None


def _degrees(values: list[str], bound: float) -> bool:
    """Whether the numbers among the values read as degrees within ±``bound``. Cells that are
    not numbers (a typo, « inconnu ») do not count: they are the report's findings, and the
    map leaves their rows without a point. True with no number to judge."""
    numbers = [n for n in map(_number, _filled(values)) if n is not None]
    within = [n for n in numbers if -bound <= n <= bound]
    return len(within) >= AGREEING * len(numbers)


def _fractional(values: list[str]) -> bool:
    """Whether the values are numbers with decimals, as degrees are and Lambert metres rarely."""
    filled = _filled(values)
    return bool(filled) and _share(
        filled, lambda v: _number(v) is not None and any(c in v for c in ".,")
    )


def _is_geojson(value: str) -> bool:
    if not value.lstrip().startswith("{"):
        return False
    try:
        parsed = json.loads(value)
    except ValueError:
        return False
    return isinstance(parsed, dict) and "coordinates" in parsed and "type" in parsed


def _pair(value: str) -> tuple[float, float] | None:
    """Two numbers separated by a comma (and spaces), as ``"43.6, 1.44"``."""
    parts = value.split(",")
    if len(parts) != 2:
        return None
    first, second = _number(parts[0]), _number(parts[1])
    if first is None or second is None or not ("." in parts[0] and "." in parts[1]):
        return None
    return first, second


def _pair_order(values: list[str]) -> str:
    """``latlon`` when the pairs fall in France read latitude first (OpenDataSoft's
    ``geo_point_2d``), else Table Schema's ``default``: longitude, then latitude."""
    pairs = [p for p in (_pair(v) for v in _filled(values)) if p is not None]
    lat_first = sum(1 for a, b in pairs if territory(b, a) and not territory(a, b))
    return "latlon" if pairs and lat_first >= AGREEING * len(pairs) else "default"
