"""How catalog should read a checked CSV as rows: the encoding, delimiter, column types and
coordinates validate found, sent in ``file.validated`` so catalog never guesses again."""

import re
import unicodedata
from typing import Any

from datacommune.shared import events

# Column names that hold a latitude or a longitude in WGS 84, once lower-cased and unaccented:
# SCDL's ``lat``/``long``, the national schemas' ``Ylat``/``Xlong`` (covoiturage, stationnement)
# and ``Ylatitude``/``Xlongitude`` (IRVE 1.x), and ``latitude``, ``lon``, ``lng``, ``y_wgs84``,
# ``consolidated_latitude``… A bare ``x``/``y`` is not taken: it is often Lambert-93, in metres.
# Values out of range (a latitude past 90°) give no point in the GeoJSON export and the map.
LATITUDE = re.compile(r"^(.*[_ ])?y?(lat|latitude|y_?wgs84|wgs84_?y)$")
LONGITUDE = re.compile(r"^(.*[_ ])?x?(lon|long|lng|longitude|x_?wgs84|wgs84_?x)$")


def table_shape(report: dict[str, Any]) -> events.TableShape | None:
    """The shape of the file a report describes, when it is a CSV read as a table."""
    source = report.get("source") or {}
    fatal = any(issue.get("fatal") for issue in report.get("issues") or [])
    if "dialect" not in source or not source.get("header") or fatal:
        return None
    encoding = source["encoding"]
    fields = [
        events.TableField(
            name=f["name"], type=f.get("type") or "string", format=f.get("format") or "default"
        )
        for f in source.get("fields") or []
    ]
    return events.TableShape(
        encoding=encoding["name"],
        bom_bytes=_bom_bytes(encoding.get("bom")),
        delimiter=source["dialect"]["delimiter"],
        fields=fields,
        geo=_geo(source["header"], source.get("fields") or []),
    )


def _bom_bytes(bom: str | None) -> int:
    sizes = {"utf-8": 3, "utf-8-sig": 3, "utf-16-le": 2, "utf-16-be": 2}
    return {**sizes, "utf-32-le": 4, "utf-32-be": 4}.get(bom or "", 0)


def _plain(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return ascii_name.strip().lower()


def _geo(header: list[str], fields: list[dict[str, Any]]) -> events.GeoColumns | None:
    for field in fields:
        if field.get("type") == "geopoint":
            return events.GeoColumns(
                point=field["name"], point_format=field.get("format") or "default"
            )
    for field in fields:
        if field.get("type") == "geojson":
            return events.GeoColumns(geometry=field["name"])
    latitude = next((h for h in header if LATITUDE.match(_plain(h))), None)
    longitude = next((h for h in header if LONGITUDE.match(_plain(h))), None)
    if latitude and longitude:
        return events.GeoColumns(latitude=latitude, longitude=longitude)
    return None
