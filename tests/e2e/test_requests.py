"""Reusers ask for data and vote; the département sees what is wanted and who publishes what."""

import httpx
import pytest

from tests.platform import ADMIN, Running

pytestmark = pytest.mark.e2e


def test_requests_votes_and_coverage(platform: Running) -> None:
    catalog = platform.url("catalog") + "/api/v1"
    admin = {"Authorization": f"Bearer {ADMIN}"}
    httpx.post(
        f"{catalog}/organizations",
        json={"slug": "herault-test", "name": "Hérault", "kind": "departement"},
        headers=admin,
    ).raise_for_status()
    for slug in ("castelnau-test", "lattes-test"):
        httpx.post(
            f"{catalog}/organizations",
            json={"slug": slug, "name": slug.title(), "parent": "herault-test"},
            headers=admin,
        ).raise_for_status()

    wanted = httpx.post(
        f"{catalog}/requests",
        json={
            "title": "Les délibérations de Lattes",
            "territory": "lattes-test",
            "schema_id": "scdl-deliberations",
        },
    )
    assert wanted.status_code == 201, wanted.text
    other = httpx.post(
        f"{catalog}/requests",
        json={"title": "Les menus des cantines", "territory": "castelnau-test"},
    )
    request_id = wanted.json()["id"]
    assert (
        httpx.post(
            f"{catalog}/requests/{request_id}/votes", json={"voter": "navigateur-1"}
        ).status_code
        == 201
    )
    again = httpx.post(f"{catalog}/requests/{request_id}/votes", json={"voter": "navigateur-1"})
    assert (again.status_code, again.json()["votes"]) == (200, 1)
    assert (
        httpx.post(f"{catalog}/requests/{request_id}/votes", json={"voter": "navigateur-2"}).json()[
            "votes"
        ]
        == 2
    )
    ranked = httpx.get(f"{catalog}/requests", params={"territory": "herault-test"}).json()["items"]
    assert [r["id"] for r in ranked] == [request_id, other.json()["id"]]
    assert (
        httpx.post(
            f"{catalog}/requests/00000000-0000-0000-0000-000000000000/votes",
            json={"voter": "navigateur-1"},
        ).status_code
        == 404
    )
    unknown = httpx.post(f"{catalog}/requests", json={"title": "Rien", "territory": "nulle-part"})
    assert unknown.status_code == 404

    castelnau = platform.organization("castelnau2")
    upload = platform.upload(
        castelnau,
        (
            "nomAttribuant,idAttribuant,dateConvention,nomBeneficiaire,objet,montant,nature,"
            "conditionsVersement,datesPeriodeVersement,notificationUE,pourcentageSubvention,"
            "rnaBeneficiaire\nCastelnau,21310457000014,2025-01-01,Asso,Fête,10,aide en numéraire,"
            "unique,2025-01-01,non,0.5,W313004512\n"
        ).encode(),
        dataset="subventions-castelnau2",
        schema="scdl-subventions",
    )
    assert (
        platform.wait_status(castelnau, upload.json()["id"], {"published", "invalid"})["status"]
        == "published"
    )
    matrix = httpx.get(f"{catalog}/coverage").json()
    assert "scdl-subventions" in matrix["schemas"]
    rows = {o["slug"]: o for o in matrix["organizations"]}
    assert rows["castelnau2"]["publishes"]["scdl-subventions"] == ["subventions-castelnau2"]
    assert "scdl-subventions" in rows["lattes-test"]["lacks"]
    scoped = httpx.get(f"{catalog}/coverage", params={"territory": "herault-test"}).json()
    assert {o["slug"] for o in scoped["organizations"]} == {
        "herault-test",
        "castelnau-test",
        "lattes-test",
    }
