"""With ``fix``, the safely repaired file is what the catalogue publishes, the original beside it."""

import csv
import io
from pathlib import Path

import httpx
import pytest

from tests.platform import Running

pytestmark = pytest.mark.e2e
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "roques-subventions-2025.csv"


def as_a_spreadsheet_saves_it() -> bytes:
    """The Roques example as a French spreadsheet exports it: Windows-1252, `;`, 18/03/2025,
    « 1 200,50 », « Non », CRLF and trailing empty rows."""
    rows = list(csv.reader(io.StringIO(EXAMPLE.read_text(encoding="utf-8"))))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(rows[0])
    for row in rows[1:]:
        year, month, day = row[2].split("-")
        row[2] = f"{day}/{month}/{year}"
        amount = f"{float(row[8]):,.2f}".replace(",", " ").replace(".", ",")
        row[8] = amount.replace(" ", "\u00a0")
        row[13] = "Non"
        writer.writerow(row)
    out.write(";" * 15 + "\r\n" + ";" * 15 + "\r\n")
    return out.getvalue().encode("cp1252")


def test_fix_publishes_the_repair_and_keeps_the_original(embedded: Running) -> None:
    token = embedded.organization("roquesfix")
    original = as_a_spreadsheet_saves_it()

    plain = embedded.upload(
        token, original, dataset="subventions-tableur", schema="scdl-subventions"
    )
    refused = embedded.wait_status(token, plain.json()["id"], {"invalid", "published"})
    assert refused["status"] == "invalid"
    proposal = refused["report"]["repair"]
    assert proposal["applied"] is False
    assert proposal["after"]["summary"]["errors"] == 0  # --fix would make it valid

    response = embedded.client.post(
        embedded.url("ingest") + "/api/v1/uploads",
        data={"dataset": "subventions-tableur", "schema": "scdl-subventions", "fix": "true"},
        files={"file": ("subventions-tableur.csv", original, "text/csv")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 202, response.text
    done = embedded.wait_status(token, response.json()["id"], {"invalid", "published"})
    assert done["status"] == "published", done["report"]["message"]
    repair = done["report"]["repair"]
    assert repair["applied"] is True
    assert repair["counts"] == {"date": 5, "number": 5, "boolean": 5, "empty-row": 2}
    assert repair["before"]["summary"]["errors"] > 0

    dataset = httpx.get(embedded.url("catalog") + "/api/v1/datasets/subventions-tableur").json()
    version = dataset["resources"][0]["latest"]
    served = httpx.get(version["download_url"])
    # Each file says the encoding of its very bytes: the repair UTF-8, the original Latin-1.
    assert served.headers["content-type"] == "text/csv; charset=utf-8"
    published = served.content.decode("utf-8")
    assert "2025-03-18" in published
    assert "1200.50" in published
    kept = httpx.get(version["repaired"]["original_download_url"])
    assert kept.content == original
    assert kept.headers["content-type"] == "text/csv; charset=iso-8859-1"
    changes = httpx.get(version["repaired"]["changes_url"]).json()
    assert changes["changes_total"] == 17
    # No byte in 0x80–0x9F: Windows-1252 and ISO-8859-1 read it alike, and it says so.
    assert changes["file"] == ["encodage latin-1 → utf-8", "séparateur « ; » → « , »"]
