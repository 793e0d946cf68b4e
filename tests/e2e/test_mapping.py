"""Old SCDL v1 headers: a mapping is proposed, confirmed once, and applied to the next uploads."""

from pathlib import Path

import httpx
import pytest

from tests.platform import Running

pytestmark = pytest.mark.e2e
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "roques-subventions-2025.csv"
V1 = {
    "nomAttribuant": "COLL_NOM",
    "idAttribuant": "COLL_SIRET",
    "dateConvention": "ACTE_DATE",
    "referenceDecision": "ACTE_REF",
    "nomBeneficiaire": "ATTRIB_NOM",
    "idBeneficiaire": "ATTRIB_SIRET",
    "objet": "SUB_OBJET",
    "montant": "SUB_MONTANT",
    "notificationUE": "NOTIF_EU",
}


def with_v1_headers(text: str) -> bytes:
    header, rest = text.split("\n", 1)
    return (",".join(V1.get(h, h) for h in header.split(",")) + "\n" + rest).encode()


def test_confirm_once_then_it_applies(embedded: Running) -> None:
    token = embedded.organization("roquesv1")
    auth = {"Authorization": f"Bearer {token}"}
    content = with_v1_headers(EXAMPLE.read_text(encoding="utf-8"))
    first = embedded.upload(token, content, dataset="subventions-v1", schema="scdl-subventions")
    refused = embedded.wait_status(token, first.json()["id"], {"invalid", "published"})
    assert refused["status"] == "invalid"
    proposed = {p["column"]: p["field"] for p in refused["report"]["mapping"]["proposed"]}
    assert proposed == {old: new for new, old in V1.items()}

    confirmed = httpx.post(
        f"{embedded.url('ingest')}/api/v1/uploads/{first.json()['id']}/mapping", headers=auth
    )
    assert confirmed.status_code == 202, confirmed.text
    done = embedded.wait_status(token, confirmed.json()["id"], {"invalid", "published"})
    assert done["status"] == "published", done["report"]["message"]
    assert done["report"]["mapping"]["applied"] == proposed
    assert done["report"]["repair"]["counts"] == {"header": 9}

    dataset = httpx.get(embedded.url("catalog") + "/api/v1/datasets/subventions-v1").json()
    published = httpx.get(dataset["resources"][0]["latest"]["download_url"]).text
    assert published.startswith("nomAttribuant,idAttribuant,dateConvention")

    # Next year's file, same old headers: the remembered mapping applies by itself.
    next_year = content.replace(b"2025-", b"2026-")
    later = embedded.upload(
        token, next_year, dataset="subventions-v1", schema="scdl-subventions", title="2026"
    )
    assert (
        embedded.wait_status(token, later.json()["id"], {"invalid", "published"})["status"]
        == "published"
    )


def test_a_mapping_needs_a_proposal_or_columns(embedded: Running) -> None:
    token = embedded.organization("sansmapping")
    upload = embedded.upload(token, b"a,b\n1,2\n", dataset="sans-mapping")
    embedded.wait_status(token, upload.json()["id"], {"published"})
    refused = httpx.post(
        f"{embedded.url('ingest')}/api/v1/uploads/{upload.json()['id']}/mapping",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
