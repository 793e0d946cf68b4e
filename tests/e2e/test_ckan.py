"""CKAN's own client, ckanapi, reads the catalogue as it would read a CKAN portal."""

import ckanapi
import httpx
import pytest

from datacommune.catalog.interop.ckan import ckan_tag
from tests.platform import Running

pytestmark = pytest.mark.e2e


def test_ckanapi_reads_the_catalogue(platform: Running) -> None:
    token = platform.organization("ckanroques")
    upload = platform.upload(
        token, b"nom,montant\nComite,12\n", dataset="subventions-ckanroques", title="Subventions"
    )
    platform.wait_status(token, upload.json()["id"], {"published"})
    httpx.patch(
        platform.url("catalog") + "/api/v1/datasets/subventions-ckanroques",
        json={"description": "Les subventions de la commune", "keywords": ["subventions"]},
        headers={"Authorization": f"Bearer {token}"},
    ).raise_for_status()

    portal = ckanapi.RemoteCKAN(platform.url("catalog"), user_agent="datacommune-tests")
    assert portal.action.status_show()["ckan_version"].startswith("2.")
    assert "subventions-ckanroques" in portal.action.package_list()
    found = portal.action.package_search(q="subvention", fq="organization:ckanroques", rows=5)
    assert found["count"] == 1
    package = found["results"][0]
    assert package["name"] == "subventions-ckanroques"
    assert package["organization"]["name"] == "ckanroques"
    assert package["tags"][0]["name"] == "subventions"
    [resource] = package["resources"]
    assert resource["format"] == "CSV"
    assert httpx.get(resource["url"]).content == b"nom,montant\nComite,12\n"

    shown = portal.action.package_show(id="subventions-ckanroques")
    assert shown["id"] == package["id"]
    assert portal.action.resource_show(id=resource["id"])["url"] == resource["url"]
    assert "ckanroques" in portal.action.organization_list()
    assert portal.action.organization_show(id="ckanroques")["package_count"] == 1
    with pytest.raises(ckanapi.NotFound):
        portal.action.package_show(id="absent")

    for n in (2, 3):
        more = platform.upload(token, f"a\n{n}\n".encode(), dataset=f"autre-ckanroques-{n}")
        platform.wait_status(token, more.json()["id"], {"published"})
    paged = [
        p["name"]
        for start in range(0, 4)
        for p in portal.action.package_search(
            rows=1, start=start, fq="organization:ckanroques", sort="metadata_modified desc"
        )["results"]
    ]
    assert len(paged) == len(set(paged)) == 3


def test_odd_parameters_get_ckan_errors_not_500(platform: Running) -> None:
    base = platform.url("catalog") + "/api/3/action"
    assert httpx.get(f"{base}/package_list", params={"limit": "x"}).status_code == 409
    assert httpx.get(f"{base}/package_search", params={"rows": "-1"}).json()["success"] is True
    assert httpx.post(f"{base}/package_search", json={"q": 123, "rows": None}).status_code == 409
    assert httpx.post(f"{base}/package_search", json={"q": 123}).json()["success"] is True


def test_keywords_become_tags_ckan_accepts() -> None:
    assert ckan_tag("l'eau") == "l eau"
    assert ckan_tag("/") == ""
    assert ckan_tag("vélo") == "vélo"
