"""The row API and exports over HTTP, from an upload to every export format."""

import csv
import io
import json
import time
import uuid
from pathlib import Path
from typing import Any

import duckdb
import duckdb_ext  # type: ignore[import-not-found]  # a folder of extension binaries only
import fsspec
import httpx
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from tests.platform import Running, csv_rows

pytestmark = pytest.mark.e2e


def published_version(platform: Running, token: str, upload_id: str, dataset: str) -> str:
    platform.wait_status(token, upload_id, {"published"})
    detail = httpx.get(f"{platform.url('catalog')}/api/v1/datasets/{dataset}").json()
    return str(detail["resources"][-1]["versions"][-1]["id"])


def ready_rows(platform: Running, version: str, **params: Any) -> dict[str, Any]:
    """The first page, once the rows are loaded (a 503 problem says to wait until then)."""
    url = f"{platform.url('catalog')}/api/v1/versions/{version}/rows"
    deadline = time.monotonic() + 20
    while True:
        response = httpx.get(url, params=params)
        if response.status_code != 503 or time.monotonic() > deadline:
            break
        assert response.json()["type"] == "/problems/rows-not-ready"
        assert response.headers["Retry-After"] == "2"
        time.sleep(0.2)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_rows_and_exports_of_a_standard_file(
    platform: Running, corpus: Path, tmp_path: Path
) -> None:
    token = platform.organization("castelmaurou-lignes")
    content = (corpus / "real/com-castelmaurou-subventions.csv").read_bytes()
    upload = platform.upload(
        token, content, dataset="subventions-castelmaurou-lignes", schema="scdl-subventions"
    )
    version = published_version(
        platform, token, upload.json()["id"], "subventions-castelmaurou-lignes"
    )
    first = ready_rows(platform, version, _size=10)
    assert first["total"] == 95
    assert len(first["rows"]) == 10
    assert first["rows"][0]["nomBeneficiaire"] == "COMITE FETES DE CASTELMAUROU"
    types = {c["name"]: c["type"] for c in first["columns"]}
    assert types["montant"] == "number"
    assert types["dateConvention"] == "date"

    catalog = platform.url("catalog") + "/api/v1"
    big = httpx.get(
        f"{catalog}/versions/{version}/rows",
        params={"montant__gte": "5000", "_sort": "-montant", "_columns": "nomBeneficiaire,montant"},
    ).json()
    amounts = [r["montant"] for r in big["rows"]]
    assert amounts == sorted(amounts, reverse=True)
    assert all(a >= 5000 for a in amounts)
    assert big["total"] == len(amounts)
    assert set(big["rows"][0]) == {"_row", "nomBeneficiaire", "montant"}

    # Pages follow next_url to the end, each row once.
    seen: list[int] = []
    url: str | None = f"{catalog}/versions/{version}/rows?_size=20&_sort=montant"
    while url:
        page = httpx.get(url).json()
        seen += [r["_row"] for r in page["rows"]]
        url = page["next_url"]
    assert sorted(seen) == list(range(2, 97))

    bad = httpx.get(f"{catalog}/versions/{version}/rows", params={"montant__gt": "beaucoup"})
    assert bad.status_code == 400
    assert bad.json()["type"] == "/problems/invalid-filter"
    assert "montant" in bad.json()["columns"]

    described = httpx.get(f"{catalog}/datasets/subventions-castelmaurou-lignes").json()
    rows_info = described["resources"][-1]["versions"][-1]["rows"]
    assert rows_info["status"] == "ready"
    assert rows_info["count"] == 95
    # No coordinates in this file: no GeoJSON export offered.
    assert set(rows_info["exports"]) == {"csv", "json", "parquet", "xlsx"}

    params = {"montant__gte": "5000"}
    as_csv = httpx.get(f"{catalog}/versions/{version}/rows.csv", params=params)
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert "-extrait.csv" in as_csv.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(as_csv.text)))
    assert len(table) - 1 == big["total"]

    as_json = httpx.get(f"{catalog}/versions/{version}/rows.json").json()
    assert len(as_json) == 95

    as_parquet = httpx.get(f"{catalog}/versions/{version}/rows.parquet")
    assert pq.read_table(io.BytesIO(as_parquet.content)).num_rows == 95

    as_xlsx = httpx.get(f"{catalog}/versions/{version}/rows.xlsx", params=params)
    path = tmp_path / "extrait.xlsx"
    path.write_bytes(as_xlsx.content)
    workbook = load_workbook(path, read_only=True)
    assert workbook.active is not None
    assert len(list(workbook.active.iter_rows())) == big["total"] + 1
    workbook.close()

    no_map = httpx.get(f"{catalog}/versions/{version}/rows.geojson")
    assert no_map.status_code == 404
    assert no_map.json()["type"] == "/problems/no-coordinates"

    # The original bytes are still what the download serves.
    assert httpx.get(f"{catalog}/versions/{version}/download").content == content


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("ylat", "nom,Xlong,Ylat\nAire du Lac,1.4437,43.6045\nPlace,abc,43.6\n"),
        ("irve", "nom,Xlongitude,Ylatitude\nAire du Lac,1.4437,43.6045\nPlace,abc,43.6\n"),
        ("latitude", "nom,longitude,latitude\nAire du Lac,1.4437,43.6045\nPlace,abc,43.6\n"),
        ("lat", "nom,lon,lat\nAire du Lac,1.4437,43.6045\nPlace,abc,43.6\n"),
        ("wkt", "nom,geom\nAire du Lac,POINT (1.4437 43.6045)\nPlace,\n"),
        ("ods", 'nom,geo_point_2d\nAire du Lac,"43.6045, 1.4437"\nPlace,\n'),
    ],
)
def test_the_national_schemas_coordinate_columns_make_a_map(
    embedded: Running, name: str, content: str
) -> None:
    """Covoiturage's and stationnement's Xlong/Ylat, IRVE 1.x's Xlongitude/Ylatitude, the
    plain pairs, a WKT column and OpenDataSoft's latitude-first ``geo_point_2d``: each gives a
    GeoJSON export, offered with the others."""
    token = embedded.organization(f"carte-{name}")
    dataset = f"aires-{name}"
    upload = embedded.upload(token, content.encode(), dataset=dataset)
    version = published_version(embedded, token, upload.json()["id"], dataset)
    ready_rows(embedded, version)
    described = httpx.get(f"{embedded.url('catalog')}/api/v1/datasets/{dataset}").json()
    exports = described["resources"][-1]["versions"][-1]["rows"]["exports"]
    assert "geojson" in exports
    features = httpx.get(exports["geojson"]).json()["features"]
    assert features[0]["geometry"] == {"type": "Point", "coordinates": [1.4437, 43.6045]}
    assert features[1]["geometry"] is None  # not a coordinate: no point, the row kept


def test_a_map_of_swapped_coordinates_says_so(embedded: Running) -> None:
    """Latitude and longitude exchanged: the points fall in the Indian Ocean, and the page
    says the columns look swapped rather than draw them without a word."""
    token = embedded.organization("carte-inversee")
    content = "nom,latitude,longitude\nMairie,1.379,43.508\nÉcole,1.38,43.51\n"
    upload = embedded.upload(token, content.encode(), dataset="carte-inversee")
    version = published_version(embedded, token, upload.json()["id"], "carte-inversee")
    ready_rows(embedded, version)
    page = httpx.get(f"{embedded.url('catalog')}/jeux-de-donnees/carte-inversee").text
    assert "svg" in page
    assert "2 point(s) tombent hors de France, mais y tomberaient" in page


def test_the_whole_table_is_kept_and_read_over_http_by_ranges(embedded: Running) -> None:
    """The whole table in Parquet, as pyarrow reads it through fsspec (as dask and pandas do)
    and DuckDB through httpfs: a HEAD for its length, then ranges for the footer and the
    columns asked for."""
    token = embedded.organization("lecteurs-parquet")
    upload = embedded.upload(token, csv_rows(5000, "plage"), dataset="lecteurs-parquet-data")
    version = published_version(embedded, token, upload.json()["id"], "lecteurs-parquet-data")
    ready_rows(embedded, version)
    url = f"{embedded.url('catalog')}/api/v1/versions/{version}/rows.parquet"

    head = httpx.head(url)
    assert head.status_code == 200
    assert head.headers["accept-ranges"] == "bytes"
    size = int(head.headers["content-length"])
    footer = httpx.get(url, headers={"Range": "bytes=-4"})
    assert (footer.status_code, footer.content) == (206, b"PAR1")
    assert footer.headers["content-range"] == f"bytes {size - 4}-{size - 1}/{size}"
    assert httpx.get(url).headers["etag"] == head.headers["etag"]  # the same kept file

    http = fsspec.filesystem("http")
    with http.open(url, block_size=1024) as remote:
        assert pq.ParquetFile(remote).metadata.num_rows == 5000
    dataset = ds.dataset(url, filesystem=http, format="parquet")
    table = dataset.to_table(columns=["commune", "montant"], filter=ds.field("id") >= 4990)
    assert table.column("commune").to_pylist() == [f"plage-{i}" for i in range(4990, 5000)]

    # DuckDB, with its own HTTP client (httpfs): a HEAD, then ranges of the footer and columns.
    duck = duckdb.connect()
    duck.execute("SET autoinstall_known_extensions = false")
    duck.execute("SET extension_directory = ?", [list(duckdb_ext.__path__)[0] + "/extensions"])
    duck.execute("LOAD httpfs")
    counted = duck.execute(
        "SELECT count(*), max(id), min(commune) FROM read_parquet(?) WHERE id >= 4990", [url]
    ).fetchone()
    assert counted == (10, 4999, "plage-4990")

    # A filtered export is made as it is sent: no length beforehand, no ranges.
    part = httpx.get(url, params={"id__lt": "10"})
    assert part.headers["accept-ranges"] == "none"
    assert pq.read_table(io.BytesIO(part.content)).num_rows == 10


def test_a_windows_file_with_coordinates_maps_and_neutralises_formulas(
    platform: Running,
) -> None:
    token = platform.organization("roques-lignes")
    lines = ["nom;latitude;longitude;places", "=1+1;43,508;1,379;12", "Mairie;43,51;1,38;"]
    content = ("\r\n".join(lines) + "\r\n").encode("cp1252")
    upload = platform.upload(token, content, dataset="parkings-roques", filename="parkings.csv")
    version = published_version(platform, token, upload.json()["id"], "parkings-roques")
    first = ready_rows(platform, version)
    assert [r["nom"] for r in first["rows"]] == ["=1+1", "Mairie"]

    catalog = platform.url("catalog") + "/api/v1"
    geo = httpx.get(f"{catalog}/versions/{version}/rows.geojson")
    assert geo.headers["content-type"] == "application/geo+json"
    features = geo.json()["features"]
    assert features[1]["geometry"] == {"type": "Point", "coordinates": [1.38, 43.51]}
    assert features[1]["properties"]["nom"] == "Mairie"

    as_csv = httpx.get(f"{catalog}/versions/{version}/rows.csv").text
    assert as_csv.splitlines()[1].startswith("'=1+1,")
    as_json = httpx.get(f"{catalog}/versions/{version}/rows.json").json()
    assert as_json[0]["nom"] == "=1+1"


def test_versions_without_rows_say_why(platform: Running) -> None:
    catalog = platform.url("catalog") + "/api/v1"
    unknown = httpx.get(f"{catalog}/versions/00000000-0000-0000-0000-000000000000/rows")
    assert unknown.status_code == 404
    token = platform.organization("roques-json")
    upload = platform.upload(
        token, json.dumps([{"a": 1}]).encode(), dataset="json-roques", filename="a.json"
    )
    version = published_version(platform, token, upload.json()["id"], "json-roques")
    answer = httpx.get(f"{catalog}/versions/{version}/rows")
    assert answer.status_code == 404
    assert answer.json()["type"] == "/problems/no-rows"


def test_rows_lost_from_disk_answer_not_ready_then_come_back(platform: Running) -> None:
    """An operator who restores catalog's database without its rows folder (or loses it)
    gets 503 rows-not-ready, not a 500, and the rows back from the stored file."""
    rows_dir = platform.platform.var / "catalog-rows"
    if not rows_dir.exists():
        pytest.skip("on PostgreSQL the rows are in the database")
    token = platform.organization("roques-lignes-perdues")
    upload = platform.upload(token, csv_rows(40, "perdu"), dataset="lignes-perdues")
    version = published_version(platform, token, upload.json()["id"], "lignes-perdues")
    assert ready_rows(platform, version)["total"] == 40
    (rows_dir / f"{uuid.UUID(version).hex}.sqlite").unlink()
    lost = httpx.get(f"{platform.url('catalog')}/api/v1/versions/{version}/rows")
    assert lost.status_code == 503
    assert lost.json()["type"] == "/problems/rows-not-ready"
    page = httpx.get(f"{platform.url('catalog')}/jeux-de-donnees/lignes-perdues")
    assert page.status_code == 200
    assert ready_rows(platform, version)["total"] == 40


def test_search_inside_rows_over_http_once_its_index_is_built(platform: Running) -> None:
    """``_search`` finds words by their start, accents and case ignored; the export keeps the
    search. A small table's index comes with its rows; a large one's follows them, ``_search``
    answering 503 search-not-ready (Retry-After) meanwhile, as the loop allows."""
    token = platform.organization("roques-recherche")
    content = (
        "nom;commune;montant\n"
        "Comité des fêtes;Roques;100\n"
        "Amicale laïque;Saint-Martin-du-Touch;200\n"
        "Fête de la musique;Roques;300\n"
        "Club de pétanque;Lavaur;400\n"
    ).encode()
    upload = platform.upload(token, content, dataset="recherche-roques")
    version = published_version(platform, token, upload.json()["id"], "recherche-roques")
    ready_rows(platform, version)
    url = f"{platform.url('catalog')}/api/v1/versions/{version}/rows"
    deadline = time.monotonic() + 20
    while (answer := httpx.get(url, params={"_search": "FETE"})).status_code == 503:
        assert answer.json()["type"] == "/problems/search-not-ready"
        assert answer.headers["Retry-After"] == "5"
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert answer.status_code == 200, answer.text
    assert [r["nom"] for r in answer.json()["rows"]] == ["Comité des fêtes", "Fête de la musique"]
    assert answer.json()["total"] == 2
    assert answer.json()["total_estimated"] is False
    both = httpx.get(url, params={"_search": "fêt roq", "montant__gt": "150"}).json()
    assert [r["nom"] for r in both["rows"]] == ["Fête de la musique"]
    martin = httpx.get(url, params={"_search": "martin LAIQUE"}).json()
    assert [r["commune"] for r in martin["rows"]] == ["Saint-Martin-du-Touch"]
    exported = httpx.get(f"{url}.csv", params={"_search": "petanque"})
    assert exported.status_code == 200
    assert "Club de pétanque" in exported.text
    assert "Roques" not in exported.text
