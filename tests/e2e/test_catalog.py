"""The reusers' read side: metadata, history, a « latest » URL, search with facets."""

import copy
import csv
import io
from pathlib import Path

import httpx
import openpyxl
import pytest
from frictionless import Package

from tests.platform import Running

pytestmark = pytest.mark.e2e


def test_describe_search_history_and_latest(platform: Running) -> None:
    token = platform.organization("metadonnees")
    other = platform.organization("voisine2")
    catalog = platform.url("catalog") + "/api/v1"
    ids = []
    for content in (b"a,b\n1,2\n", b"a,b\n1,3\n"):
        response = platform.upload(
            token, content, dataset="deliberations-metadonnees", filename="deliberations.csv"
        )
        ids.append(response.json()["id"])
        platform.wait_status(token, ids[-1], {"published"})

    changes = {
        "title": "Délibérations du conseil municipal",
        "description": "Toutes les **délibérations** depuis 2020. <script>alert(1)</script>",
        "keywords": ["conseil", "délibérations"],
        "theme": "GOVE",
        "licence": "etalab-2.0",
        "spatial": ["31458"],
        "frequency": "monthly",
        "temporal_start": "2020-01-01",
    }
    refused = httpx.patch(
        f"{catalog}/datasets/deliberations-metadonnees",
        json=changes,
        headers={"Authorization": f"Bearer {other}"},
    )
    assert refused.status_code == 403
    bad = httpx.patch(
        f"{catalog}/datasets/deliberations-metadonnees",
        json={"theme": "NOPE"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert bad.status_code == 422
    patched = httpx.patch(
        f"{catalog}/datasets/deliberations-metadonnees",
        json=changes,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert patched.status_code == 200, patched.text
    dataset = patched.json()
    assert dataset["theme_label"] == "Gouvernement et secteur public"
    assert "<strong>délibérations</strong>" in dataset["description_html"]
    assert "<script>" not in dataset["description_html"]

    found = httpx.get(
        f"{catalog}/datasets", params={"q": "deliberation conseil", "theme": "GOVE"}
    ).json()
    assert [d["slug"] for d in found["items"]] == ["deliberations-metadonnees"]
    assert {"value": "GOVE", "count": 1} in found["facets"]["theme"]

    history = httpx.get(f"{catalog}/datasets/deliberations-metadonnees/history").json()["items"]
    assert [v["number"] for v in history] == [2, 1]
    [resource] = dataset["resources"]
    latest = httpx.get(resource["latest_url"])
    assert latest.content == b"a,b\n1,3\n"
    assert latest.headers["content-location"] == resource["versions"][-1]["download_url"]
    first = httpx.get(resource["versions"][0]["download_url"])
    assert first.content == b"a,b\n1,2\n"  # a version's URL serves it forever


def test_a_bad_cursor_is_a_problem(platform: Running) -> None:
    response = httpx.get(
        platform.url("catalog") + "/api/v1/datasets", params={"cursor": "pas-un-curseur"}
    )
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/invalid-cursor"


def test_the_data_package_validates_with_frictionless(platform: Running, corpus: Path) -> None:
    token = platform.organization("paquet")
    content = (corpus / "real" / "com-castelmaurou-subventions.csv").read_bytes()
    upload = platform.upload(
        token, content, dataset="paquet-subventions", schema="scdl-subventions"
    )
    platform.wait_status(token, upload.json()["id"], {"published"})
    url = platform.url("catalog") + "/api/v1/datasets/paquet-subventions/datapackage.json"
    descriptor = httpx.get(url).json()
    assert descriptor["licenses"][0]["name"] == "etalab-2.0"
    [resource] = descriptor["resources"]
    assert resource["schema"].endswith("/api/v1/schemas/scdl-subventions@2.1.1/schema.json")
    report = Package(url).validate()
    assert report.valid, report.flatten(["type", "message"])
    assert report.tasks[0].stats["rows"] == 95


def as_workbook(content: bytes) -> bytes:
    """A CSV as a spreadsheet saves it in XLSX: one sheet, the text of each cell."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in csv.reader(io.StringIO(content.decode("utf-8"))):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_data_package_of_csv_and_xlsx_checks_each_against_its_schema(
    embedded: Running, corpus: Path
) -> None:
    token = embedded.organization("paquet-mixte")
    content = (corpus / "real" / "com-castelmaurou-subventions.csv").read_bytes()
    files = {
        "subventions.csv": (content, "scdl-subventions"),
        "subventions-tableur.xlsx": (as_workbook(content), "scdl-subventions"),
        "notes.csv": ("commune;note\r\nÈze;l’été\r\n".encode("cp1252"), None),
    }
    versions = {}
    for name, (data, schema) in files.items():
        sent = embedded.upload(token, data, dataset="paquet-mixte", filename=name, schema=schema)
        assert sent.status_code == 202, sent.text
        done = embedded.wait_status(token, sent.json()["id"], {"published", "invalid"})
        assert done["status"] == "published", (name, done["report"]["message"])
        versions[name] = done["download_url"].split("/versions/")[1].split("/")[0]
    url = embedded.url("catalog") + "/api/v1/datasets/paquet-mixte/datapackage.json"
    descriptor = httpx.get(url).json()
    by_path = {r["path"].split("/versions/")[1].split("/")[0]: r for r in descriptor["resources"]}
    sheet = by_path[versions["subventions-tableur.xlsx"]]
    assert sheet["format"] == "xlsx"
    assert sheet["mediatype"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert by_path[versions["subventions.csv"]]["format"] == "csv"
    assert by_path[versions["notes.csv"]]["encoding"] == "windows-1252"

    report = Package(url).validate()
    assert report.valid, report.flatten(["type", "message"])
    rows = {task.name: task.stats["rows"] for task in report.tasks}
    assert rows[sheet["name"]] == 95

    # The schema really is applied to the sheet: asking for a column it lacks fails it.
    strict = copy.deepcopy(descriptor)
    for resource in strict["resources"]:
        if resource["format"] == "xlsx":
            schema = httpx.get(resource["schema"]).json()
            schema["fields"].append(
                {"name": "colonneAbsente", "type": "string", "constraints": {"required": True}}
            )
            resource["schema"] = schema
    failed = Package(strict).validate()
    assert not failed.valid
    assert {t.name for t in failed.tasks if not t.valid} == {sheet["name"]}

    # A version's own descriptor: that file alone, at its own address, numbered.
    own = httpx.get(
        embedded.url("catalog")
        + f"/api/v1/versions/{versions['subventions-tableur.xlsx']}/datapackage.json"
    ).json()
    assert [r["path"] for r in own["resources"]] == [sheet["path"]]
    assert own["version"] == "1"
    assert Package(own).validate().valid
