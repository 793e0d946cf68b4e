"""How a file was read is in its report, and the person can override it through the API."""

import time
from pathlib import Path

import httpx
import pytest

from tests.platform import Running

pytestmark = pytest.mark.e2e


def test_a_bom_before_a_windows_body_reads_right_through_the_api(
    embedded: Running, reference: Path
) -> None:
    token = embedded.organization("somme")
    content = (reference / "real/dep80-somme-subventions-20180302.csv").read_bytes()
    response = embedded.upload(
        token, content, dataset="subventions-somme", schema="scdl-subventions"
    )
    body = embedded.wait_status(token, response.json()["id"], {"invalid", "published"})
    source = body["report"]["source"]
    assert source["encoding"]["name"] == "cp1252"
    assert source["encoding"]["bom"] == "utf-8"
    assert source["dialect"]["delimiter"] == ";"
    assert source["header"][0] == "nomAttribuant"  # not « ï»¿nomAttribuant »


def test_the_person_can_override_detection(embedded: Running, reference: Path) -> None:
    token = embedded.organization("driveco")
    content = (reference / "real/irve-driveco-20201215.csv").read_bytes()
    response = embedded.upload(token, content, dataset="irve")
    assert response.status_code == 202
    detected = embedded.wait_status(token, response.json()["id"], {"published", "invalid"})
    assert detected["report"]["source"]["encoding"]["name"] == "latin-1"

    chosen = embedded.client.post(
        embedded.url("ingest") + "/api/v1/uploads",
        data={"dataset": "irve", "encoding": "iso-8859-15", "delimiter": ";", "title": "IRVE"},
        files={"file": ("irve.csv", content, "text/csv")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert chosen.status_code == 202, chosen.text
    body = embedded.wait_status(token, chosen.json()["id"], {"published", "invalid"})
    encoding = body["report"]["source"]["encoding"]
    assert (encoding["name"], encoding["confidence"]) == ("iso8859-15", 1.0)
    assert body["report"]["source"]["dialect"]["reason"].startswith("choisi")

    wrong = embedded.upload(token, b"a;b\n1;2\n", dataset="irve")
    assert wrong.status_code == 202
    for field, value in (("encoding", "klingon"), ("delimiter", "#")):
        refused = embedded.client.post(
            embedded.url("ingest") + "/api/v1/uploads",
            data={"dataset": "irve", field: value},
            files={"file": ("x.csv", b"a;b\n3;4\n", "text/csv")},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert refused.status_code == 422
        assert refused.json()["field"] == field


def test_a_chosen_encoding_that_cannot_be_right_is_reported(
    embedded: Running, reference: Path
) -> None:
    token = embedded.organization("mauvaisencodage")
    content = (reference / "real/irve-driveco-20201215.csv").read_bytes()
    response = embedded.client.post(
        embedded.url("ingest") + "/api/v1/uploads",
        data={"dataset": "mauvais-encodage", "encoding": "utf-8"},
        files={"file": ("irve.csv", content, "text/csv")},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = embedded.wait_status(token, response.json()["id"], {"invalid", "published"})
    assert body["status"] == "invalid"
    assert body["report"]["summary"]["error_types"] == {"encoding-error": 1}
    assert "CSV UTF-8" in body["report"]["message"]["fr"]


def test_utf16_without_a_bom_is_published_and_its_rows_read_right(embedded: Running) -> None:
    token = embedded.organization("sansbom")
    text = "nom;ville;montant\n" + "Élodie;Roques;12\n" * 30
    response = embedded.upload(token, text.encode("utf-16-le"), dataset="utf16-sans-bom")
    body = embedded.wait_status(token, response.json()["id"], {"invalid", "published"})
    assert body["status"] == "published", body["report"]["message"]
    source = body["report"]["source"]
    assert (source["encoding"]["name"], source["encoding"]["bom"]) == ("utf-16-le", None)
    assert source["header"] == ["nom", "ville", "montant"]
    assert httpx.get(body["download_url"]).content == text.encode("utf-16-le")
    detail = httpx.get(embedded.url("catalog") + "/api/v1/datasets/utf16-sans-bom").json()
    version = detail["resources"][-1]["versions"][-1]["id"]
    url = f"{embedded.url('catalog')}/api/v1/versions/{version}/rows"
    deadline = time.monotonic() + 20
    while (rows := httpx.get(url)).status_code == 503 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert rows.status_code == 200, rows.text
    assert rows.json()["rows"][0]["nom"] == "Élodie"
