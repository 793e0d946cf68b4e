"""An organization's CKAN portal harvested by the running catalogue: registered and run over
HTTP, its datasets found by search and by the CKAN API, the run log read back."""

import time

import httpx
import pytest

from tests.catalog.portals import Portal, ckan_package, serve
from tests.platform import ADMIN, Running

pytestmark = pytest.mark.e2e


def test_a_ckan_portal_is_harvested_and_found(embedded: Running) -> None:
    token = embedded.organization("moissonnee")
    other = embedded.organization("voisine-moisson")
    catalog = embedded.url("catalog")
    sources = f"{catalog}/api/v1/organizations/moissonnee/harvest-sources"
    mine = {"Authorization": f"Bearer {token}"}
    with serve(Portal()) as portal:
        portal.ckan = [
            ckan_package("piscines-municipales", "Piscines municipales"),
            ckan_package("marches-publics", "Marchés publics"),
        ]
        body = {"kind": "ckan", "url": f"{portal.base}/ckan", "interval_hours": 24}
        assert httpx.post(sources, json=body).status_code == 401
        refused = httpx.post(sources, json=body, headers={"Authorization": f"Bearer {other}"})
        assert refused.status_code == 403
        assert refused.json()["detail_en"]
        bad = httpx.post(sources, json={**body, "url": "file:///etc/passwd"}, headers=mine)
        assert bad.status_code == 422
        assert bad.json()["type"] == "/problems/harvest-refused"

        created = httpx.post(sources, json=body, headers=mine)
        assert created.status_code == 201, created.text
        source = created.json()
        assert source["kind"] == "ckan"
        assert source["interval_hours"] == 24
        # A new source is harvested at once by the schedule; asking for a run now either
        # starts one or says one is running.
        started = httpx.post(f"{sources}/{source['id']}/run", headers=mine)
        assert started.status_code in (202, 409), started.text
        if started.status_code == 409:
            assert started.json()["type"] == "/problems/harvest-running"
        runs = f"{sources}/{source['id']}/runs"
        deadline = time.monotonic() + 30
        while True:
            log = httpx.get(runs, headers=mine).json()["items"]
            if log and all(r["status"] != "running" for r in log):
                break
            assert time.monotonic() < deadline, log
            time.sleep(0.1)
        assert log[-1]["status"] == "succeeded", log
        assert log[-1]["counts"]["created"] == 2
        assert log[-1]["counts"]["failed"] == 0
        # The administrator of the platform reads it too; another organization does not.
        as_admin = httpx.get(
            f"{sources}/{source['id']}", headers={"Authorization": f"Bearer {ADMIN}"}
        )
        assert as_admin.json()["last_run"]["status"] == "succeeded"
        assert httpx.get(runs, headers={"Authorization": f"Bearer {other}"}).status_code == 403

    api = f"{catalog}/api/v1"
    found = httpx.get(f"{api}/datasets", params={"q": "piscines", "organization": "moissonnee"})
    [item] = found.json()["items"]
    assert item["slug"] == "moissonnee-piscines-municipales"
    assert item["harvested_from"]["url"] == f"{portal.base}/ckan"
    dataset = httpx.get(f"{api}/datasets/moissonnee-piscines-municipales").json()
    [resource] = dataset["resources"]
    assert resource["remote"] is True
    assert resource["download_url"].startswith("https://data.roques.example/files/")

    package = httpx.get(
        f"{catalog}/api/3/action/package_show", params={"id": "moissonnee-piscines-municipales"}
    ).json()["result"]
    assert package["title"] == "Piscines municipales"
    assert package["resources"][0]["url"] == resource["download_url"]
    shown = httpx.get(
        f"{catalog}/api/3/action/resource_show", params={"id": package["resources"][0]["id"]}
    ).json()
    assert shown["result"]["format"] == "CSV"
    searched = httpx.get(
        f"{catalog}/api/3/action/package_search",
        params={"fq": "organization:moissonnee res_format:CSV"},
    ).json()["result"]
    assert searched["count"] == 2

    # Deleting the source takes its datasets out of the catalogue.
    deleted = httpx.delete(f"{sources}/{source['id']}", headers=mine)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["deleted_datasets"] == 2
    assert httpx.get(f"{api}/datasets/moissonnee-piscines-municipales").status_code == 404
