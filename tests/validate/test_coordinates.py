"""Where a table keeps its coordinates: declared by its schema, typed, named, or read from its
values; and never taken from columns that do not hold degrees."""

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datacommune.shared import events
from datacommune.validate.checks.coordinates import find
from datacommune.validate.reports import report as reports


def geo(
    header: list[str],
    rows: list[list[str]],
    declared: list[dict[str, Any]] | None = None,
    fields: list[dict[str, Any]] | None = None,
) -> events.GeoColumns | None:
    return find(header, fields or [], declared or [], rows)


@pytest.mark.parametrize(
    ("header", "latitude", "longitude"),
    [
        (["nom", "Ylat", "Xlong"], "Ylat", "Xlong"),  # covoiturage, stationnement
        (["Xlongitude", "Ylatitude"], "Ylatitude", "Xlongitude"),  # IRVE 1.x
        (["latitude", "longitude"], "latitude", "longitude"),
        (["lon", "lat"], "lat", "lon"),
        (["coordonnées_lat", "coordonnées_lng"], "coordonnées_lat", "coordonnées_lng"),
    ],
)
def test_the_names_the_national_schemas_use(
    header: list[str], latitude: str, longitude: str
) -> None:
    values = {"Ylat": "43.6", "Ylatitude": "43.6", "latitude": "43,6", "lat": "43.6"}
    row = [values.get(h, "1.44") if "lat" in h.lower() else "1.44" for h in header]
    found = geo(header, [row])
    assert found is not None
    assert (found.latitude, found.longitude, found.found) == (latitude, longitude, "name")


def test_lambert_metres_under_coordinate_names_are_not_degrees() -> None:
    assert geo(["lat", "lon"], [["6279500", "574000"]]) is None
    assert geo(["x", "y"], [["574000", "6279500"]]) is None  # Lambert-93 x/y


def test_bare_x_and_y_in_degrees() -> None:
    found = geo(["nom", "x", "y"], [["Mairie", "1.3790", "43.5080"], ["École", "1,38", "43,51"]])
    assert found is not None
    assert (found.longitude, found.latitude, found.found) == ("x", "y", "values")


def test_the_schema_declares_its_columns() -> None:
    declared = [{"name": "french-gps-coordinates", "params": {"longitude": "E", "latitude": "N"}}]
    found = geo(["E", "N"], [["1.44", "43.6"]], declared=declared)
    assert found is not None
    assert (found.longitude, found.latitude, found.found) == ("E", "N", "schema")


def test_a_geopoint_field() -> None:
    fields = [{"name": "coords", "type": "geopoint", "format": "array"}]
    found = geo(["coords"], [["[1.44, 43.6]"]], fields=fields)
    assert found is not None
    assert (found.point, found.point_format, found.found) == ("coords", "array", "type")


def test_wkt_and_geojson_columns() -> None:
    found = geo(["nom", "geom"], [["a", "POINT (1.44 43.6)"], ["b", "SRID=4326;POINT(1 2)"]])
    assert found is not None
    assert (found.geometry, found.geometry_format) == ("geom", "wkt")
    shape = '{"type": "Polygon", "coordinates": [[[1, 2], [3, 4], [1, 2]]]}'
    found = geo(["geo_shape"], [[shape]])
    assert found is not None
    assert (found.geometry, found.geometry_format) == ("geo_shape", "geojson")
    assert geo(["nom"], [["POINT de vente"]]) is None


def test_opendatasoft_pairs_are_latitude_first() -> None:
    found = geo(["geo_point_2d"], [["43.6045, 1.4437"], ["43.51, 1.38"]])
    assert found is not None
    assert (found.point, found.point_format) == ("geo_point_2d", "latlon")
    found = geo(["position"], [["1.4437, 43.6045"]])
    assert found is not None
    assert (found.point, found.point_format) == ("position", "default")


def test_the_report_says_where_coordinates_are(tmp_path: Path) -> None:
    path = tmp_path / "aires.csv"
    path.write_text(
        "id_local,nom_lieu,Xlong,Ylat\n1,Parking de la mairie,1.379,43.508\n", encoding="utf-8"
    )
    report = reports.check(path, schema=None, schema_ref=None)
    assert report["source"]["coordinates"] == {
        "latitude": "Ylat",
        "longitude": "Xlong",
        "point": None,
        "point_format": "default",
        "geometry": None,
        "geometry_format": "geojson",
        "found": "name",
    }
    plain = tmp_path / "plain.csv"
    plain.write_text("nom,places\nMairie,12\n", encoding="utf-8")
    assert "coordinates" not in reports.check(plain, schema=None, schema_ref=None)["source"]


@given(
    st.lists(st.text(max_size=12), min_size=1, max_size=4),
    st.lists(st.lists(st.text(max_size=30), max_size=5), max_size=6),
)
def test_any_table_gives_an_answer_never_an_error(header: list[str], rows: list[list[str]]) -> None:
    declared = [{"name": "french-gps-coordinates", "params": {"column": header[0]}}]
    for checks in ([], declared):
        found = find(header, [], checks, rows)
        assert found is None or isinstance(found, events.GeoColumns)
