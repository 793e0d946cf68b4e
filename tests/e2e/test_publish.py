"""A commune's file goes through ingest, validate and catalog, and comes back byte for byte."""

from pathlib import Path

import httpx
import pytest

from tests import servers
from tests.figures import OPENAPI_WAIT
from tests.platform import Running, running_platform

SERVICES = ("ingest", "validate", "catalog", "events")


def publish_and_download(running: Running, corpus: Path, org: str) -> None:
    token = running.organization(org)
    original = (corpus / "real" / "com-castelmaurou-subventions.csv").read_bytes()
    response = running.upload(
        token,
        original,
        dataset=f"subventions-{org}",
        filename="subventions-castelmaurou.csv",
        schema="scdl-subventions",
        title="Subventions aux associations",
    )
    assert response.status_code == 202, response.text
    upload = response.json()
    assert upload["status_url"].endswith(f"/api/v1/uploads/{upload['id']}")
    done = running.wait_status(token, upload["id"], {"published", "invalid", "rejected"})
    assert done["status"] == "published", done
    assert done["report"]["valid"] is True
    assert done["report"]["schema"]["id"] == "scdl-subventions@2.1.1"

    catalog = running.url("catalog")
    dataset = httpx.get(f"{catalog}/api/v1/datasets/subventions-{org}").json()
    assert dataset["organization"] == org
    [resource] = dataset["resources"]
    assert resource["title"] == "Subventions aux associations"
    download = httpx.get(resource["download_url"])
    assert download.status_code == 200
    assert download.content == original
    assert download.headers["content-type"].startswith("text/csv")
    assert download.headers["content-disposition"] == (
        'attachment; filename="subventions-castelmaurou.csv"; '
        "filename*=UTF-8''subventions-castelmaurou.csv"
    )

    found = httpx.get(f"{catalog}/api/v1/datasets", params={"q": "associations"}).json()
    assert f"subventions-{org}" in [d["slug"] for d in found["items"]]
    mine = httpx.get(f"{catalog}/api/v1/datasets", params={"organization": org}).json()
    assert [d["slug"] for d in mine["items"]] == [f"subventions-{org}"]
    none = httpx.get(f"{catalog}/api/v1/datasets", params={"q": "introuvable"}).json()
    assert none["items"] == []


@pytest.mark.e2e
def test_round_trip_on_embedded_defaults(embedded: Running, corpus: Path) -> None:
    publish_and_download(embedded, corpus, "castelmaurou")


@pytest.mark.e2e
@pytest.mark.postgres
def test_round_trip_on_postgresql_and_s3(
    tmp_path: Path, corpus: Path, postgres_available: None, s3_server: servers.S3Server
) -> None:
    with (
        servers.postgres_database() as ingest_db,
        servers.postgres_database() as validate_db,
        servers.postgres_database() as catalog_db,
        servers.postgres_database() as events_db,
        running_platform(
            tmp_path,
            databases={
                "ingest": ingest_db,
                "validate": validate_db,
                "catalog": catalog_db,
                "events": events_db,
            },
            env=s3_server.env("datacommune-e2e"),
        ) as running,
    ):
        publish_and_download(running, corpus, "castelmaurou")
        assert not (tmp_path / "files").exists(), "files must go to S3, not to local disk"


@pytest.mark.e2e
def test_the_same_bytes_twice_make_one_version(embedded: Running) -> None:
    token = embedded.organization("doublon")
    first = embedded.upload(token, b"a,b\n1,2\n", dataset="doublon-data")
    second = embedded.upload(token, b"a,b\n1,2\n", dataset="doublon-data")
    assert first.status_code == 202
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["duplicate"] is True
    embedded.wait_status(token, first.json()["id"], {"published"})
    dataset = httpx.get(embedded.url("catalog") + "/api/v1/datasets/doublon-data").json()
    assert [len(r["versions"]) for r in dataset["resources"]] == [1]


@pytest.mark.e2e
def test_a_new_upload_of_a_resource_is_a_new_version(embedded: Running) -> None:
    token = embedded.organization("versions")
    ids = []
    for content in (b"a,b\n1,2\n", b"a,b\n1,3\n"):
        response = embedded.upload(token, content, dataset="versions-data", filename="t.csv")
        ids.append(response.json()["id"])
        embedded.wait_status(token, ids[-1], {"published"})
    dataset = httpx.get(embedded.url("catalog") + "/api/v1/datasets/versions-data").json()
    [resource] = dataset["resources"]
    assert [v["number"] for v in resource["versions"]] == [1, 2]
    assert resource["latest"]["number"] == 2
    first = httpx.get(resource["versions"][0]["download_url"]).content
    assert first == b"a,b\n1,2\n"


@pytest.mark.e2e
def test_an_invalid_file_gets_its_report_and_is_not_published(
    embedded: Running, corpus: Path
) -> None:
    token = embedded.organization("invalide")
    content = (
        corpus / "schemas" / "scdl-subventions" / "exemple_invalide_erreurs_colonnes.csv"
    ).read_bytes()
    response = embedded.upload(token, content, dataset="invalide-data", schema="scdl-subventions")
    body = embedded.wait_status(token, response.json()["id"], {"invalid", "published"})
    assert body["status"] == "invalid"
    report = body["report"]
    assert report["summary"]["errors"] == 65  # one cell, one finding: the SIRET over its pattern
    assert report["summary"]["warning_types"] == {"extra-label": 1}
    assert report["message"]["fr"].startswith("Le fichier n'est pas conforme")
    status_url = f"{embedded.url('ingest')}/api/v1/uploads/{response.json()['id']}/report"
    auth = {"Authorization": f"Bearer {token}"}
    page = httpx.get(status_url, params={"format": "html"}, headers=auth)
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Rapport de validation" in page.text
    assert "La colonne « NOM_Beneficiaire » n&#x27;est pas dans le schéma." in page.text
    validata = httpx.get(status_url, params={"format": "validata"}, headers=auth).json()
    assert validata["valid"] is False
    assert len(validata["tasks"][0]["errors"]) == 66  # 65 errors and the extra column
    assert httpx.get(status_url, headers=auth).json() == report
    missing = httpx.get(embedded.url("catalog") + "/api/v1/datasets/invalide-data")
    assert missing.status_code == 404


@pytest.mark.e2e
def test_an_unknown_schema_is_reported(embedded: Running) -> None:
    token = embedded.organization("schemainconnu")
    response = embedded.upload(token, b"a\n1\n", dataset="inconnu", schema="pas-un-schema")
    body = embedded.wait_status(token, response.json()["id"], {"invalid", "published"})
    assert body["status"] == "invalid"
    assert body["report"]["issues"][0]["type"] == "schema-not-found"


@pytest.mark.e2e
@pytest.mark.parametrize("service", SERVICES)
def test_health_readiness_and_docs(embedded: Running, service: str) -> None:
    base = embedded.url(service)
    assert httpx.get(base + "/healthz").json()["status"] == "ok"
    ready = httpx.get(base + "/readyz").json()
    assert ready["checks"] == {"nats": "ok", "consumers": "ok", "database": "ok", "storage": "ok"}
    assert httpx.get(base + "/docs").status_code == 200
    assert (
        httpx.get(base + "/openapi.json", timeout=OPENAPI_WAIT).json()["info"]["title"]
        == f"datacommune — {service}"
    )


@pytest.mark.e2e
def test_schemas_are_listed_with_their_fields(embedded: Running) -> None:
    base = embedded.url("validate")
    ids = [s["id"] for s in httpx.get(base + "/api/v1/schemas").json()["items"]]
    assert "scdl-subventions@2.1.1" in ids
    schema = httpx.get(base + "/api/v1/schemas/scdl-subventions").json()
    assert schema["fields"][0]["name"] == "nomAttribuant"
    decp = httpx.get(base + "/api/v1/schemas/decp-marches-publics").json()
    assert decp["warnings"], "the defective name must be reported as a warning"
