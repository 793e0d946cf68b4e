"""The Roques test, in a real browser: a town-hall secretary with no help publishes a messy real
export as standard data — the schema and title proposed from the file, the report read in
groups, the safe repairs and the column mapping accepted — in under two minutes of clicks.

And the report of a large real file stays a page a person can read: under 4,000 pixels.
"""

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import figures
from tests.browser.test_journeys import check
from tests.platform import Running

pytestmark = pytest.mark.e2e

LOT = "dep46-lot-subventions-2017.csv"
# What a person gets from the time they sign in to « Publié »; the checks themselves take some.
JOURNEY_SECONDS = 120
TALLEST = 4000


def sign_in(page: Any, ingest: str, token: str) -> None:
    page.goto(ingest + "/espace/connexion")
    page.get_by_label("Jeton de l'organisation").fill(token)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(ingest + "/espace")


def open_report(
    embedded: Running,
    page: Any,
    token: str,
    content: bytes,
    *,
    dataset: str,
    filename: str,
    title: str | None = None,
) -> str:
    """Send a file against scdl-subventions as a script would, wait for its report, and open
    its page signed in; the upload's id."""
    sent = embedded.upload(
        token, content, dataset=dataset, filename=filename, schema="scdl-subventions", title=title
    )
    upload_id: str = sent.json()["id"]
    embedded.wait_status(token, upload_id, {"invalid"})
    ingest = embedded.url("ingest")
    sign_in(page, ingest, token)
    page.goto(f"{ingest}/espace/depots/{upload_id}")
    return upload_id


def test_roques_publishes_a_messy_export_without_help(
    embedded: Running, reference: Path, page: Any, shot: Any
) -> None:
    token = embedded.organization("roques")
    ingest, catalog = embedded.url("ingest"), embedded.url("catalog")
    started = time.monotonic()
    sign_in(page, ingest, token)

    # The file chosen, the page proposes its schema and a title before anything is sent.
    page.goto(ingest + "/espace/deposer")
    page.get_by_label("Jeu de données").fill("subventions-roques")
    page.get_by_label("Fichier (CSV, tableur XLSX ou ODS, JSON)").set_input_files(
        files=[
            {
                "name": "roques-subventions-2017.csv",
                "mimeType": "text/csv",
                "buffer": (reference / "real" / LOT).read_bytes(),
            }
        ]
    )
    page.locator("#schema-guess", has_text="Subventions").wait_for()
    assert page.get_by_label("Schéma national (facultatif)").input_value() == "scdl-subventions"
    assert page.locator("#title").input_value() == ("Subventions 2017 — Roques")
    # The schema field searches the list of known schemas.
    assert page.locator("#schemas-connus option[value='scdl-subventions']").count() == 1
    check(page, shot, "deposer-propose")
    page.get_by_role("button", name="Envoyer le fichier").click()
    page.wait_for_url("**/espace/depots/*")
    page.locator("#etat", has_text="À corriger").wait_for(timeout=60_000)

    # The report in groups: one block per kind and column, each with what to do, once.
    main = page.inner_text("main")
    assert "36 erreurs" in main
    blocks = page.locator("section.finding.error")
    assert 1 <= blocks.count() <= 8
    amounts = blocks.filter(has_text="« montant »")
    assert "Que faire" in amounts.inner_text()
    assert amounts.locator("p.hint").count() == 1
    check(page, shot, "rapport-groupe")

    page.locator("#accepter-corrections").click()
    page.locator("#etat", has_text="À corriger").wait_for(timeout=60_000)
    assert "2 erreurs" in page.inner_text("main")  # two column names left
    check(page, shot, "apres-corrections")
    page.locator("#accepter-correspondance").click()
    page.locator("#etat", has_text="Publié").wait_for(timeout=60_000)
    took = time.monotonic() - started
    check(page, shot, "publie")
    figures.record("roques-path", f"Roques path, sign-in to published: {took:.1f} s")
    assert took < JOURNEY_SECONDS

    # In the catalogue under the title proposed, not its file's name.
    page.get_by_role("link", name="Publié : voir dans le catalogue").click()
    page.wait_for_url(catalog + "/jeux-de-donnees/subventions-roques")
    assert "Subventions 2017 — Roques" in page.inner_text("h1")
    assert page.locator(".badges .ok").count() == 1
    check(page, shot, "catalogue")


def test_no_script_the_report_page_asks_the_schema_and_title(
    embedded: Running, reference: Path, page: Any, shot: Any
) -> None:
    """Sent with a schema but no title (by a script, or with JavaScript off), a file still to
    correct has its title asked on its report, prefilled, and kept by the next checks."""
    token = embedded.organization("roques-sans-script")
    upload_id = open_report(
        embedded,
        page,
        token,
        (reference / "real" / LOT).read_bytes(),
        dataset="subventions-sans-script",
        filename="subventions-2017.csv",
    )
    ingest = embedded.url("ingest")
    titled = page.locator("#choix-titre")
    assert titled.input_value() == "Subventions 2017 — Roques-Sans-Script"
    titled.fill("Subventions aux associations 2017")
    check(page, shot, "choix-schema-titre")
    page.locator("#choisir").click()
    page.wait_for_url(f"**/espace/depots/{upload_id}")
    assert page.locator("#choisir").count() == 0  # asked once
    page.locator("#accepter-corrections").click()
    page.locator("#etat", has_text="À corriger").wait_for(timeout=60_000)
    repaired = re.search(r"/espace/depots/([0-9a-f-]+)", page.url)
    assert repaired
    assert repaired.group(1) != upload_id
    shown = httpx.get(
        f"{ingest}/api/v1/uploads/{repaired.group(1)}",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert shown["title"] == "Subventions aux associations 2017"


@pytest.mark.parametrize(
    "name",
    [
        "montpellier-subventions-associations.csv",  # the largest real file
        "toulouse-metropole-subventions-2022.csv",  # the most errors: 1,584
    ],
)
def test_the_report_of_a_large_real_file_is_a_readable_page(
    embedded: Running, reference: Path, page: Any, shot: Any, name: str
) -> None:
    token = embedded.organization(f"grand-{name[:8]}")
    content = (reference / "real" / name).read_bytes()
    open_report(embedded, page, token, content, dataset=f"grand-{name[:8]}", filename=name)
    height = page.evaluate("document.documentElement.scrollHeight")
    check(page, shot, "rapport")
    figures.record(f"report-height-{name}", f"report page of {name}: {height} px")
    assert height < TALLEST
    # Folded examples open on demand.
    more = page.locator("details summary", has_text="Voir les")
    if more.count():
        more.first.click()
        check(page, shot, "rapport-deplie")


def test_a_person_maps_the_columns_no_name_came_close_to(
    embedded: Running, reference: Path, page: Any, shot: Any
) -> None:
    """Montpellier's export names its columns its own way (« Nom association », « Accordé »):
    the report proposes only « Nature »; the person chooses the rest from the schema's missing
    fields, and the next check finds those columns."""
    token = embedded.organization("montpellier-a-la-main")
    name = "montpellier-subventions-associations.csv"
    upload_id = open_report(
        embedded,
        page,
        token,
        (reference / "real" / name).read_bytes(),
        dataset="subventions-montpellier",
        filename=name,
        title="Subventions aux associations — Montpellier",
    )
    ingest = embedded.url("ingest")
    headers = {"Authorization": f"Bearer {token}"}
    before = httpx.get(f"{ingest}/api/v1/uploads/{upload_id}/report", headers=headers).json()
    # The proposal is chosen already; the person adds the columns only they can recognise.
    assert page.get_by_label("Nature", exact=True).input_value() == "nature"
    chosen = {
        "Nom association": "nomBeneficiaire",
        "Titre du projet": "objet",
        "Accordé": "montant",
        "SIRET": "idBeneficiaire",
        "Modalités de paiement": "conditionsVersement",
    }
    for column, field in chosen.items():
        page.get_by_label(column, exact=True).select_option(field)
    check(page, shot, "correspondance-choisie")
    page.locator("#accepter-correspondance").click()
    page.wait_for_url(re.compile(r".*/espace/depots/(?!" + upload_id + ")[0-9a-f-]+$"))
    page.locator("#etat", has_text="À corriger").wait_for(timeout=60_000)
    check(page, shot, "apres-correspondance")
    again = page.url.rsplit("/", 1)[1]
    after = httpx.get(f"{ingest}/api/v1/uploads/{again}/report", headers=headers).json()
    missing = {
        e["field"] for g in after["groups"] if g["type"] == "missing-label" for e in g["examples"]
    }
    assert not missing & {*chosen.values(), "nature"}
    assert after["mapping"]["applied"] == {**chosen, "Nature": "nature"}
    assert before["summary"]["error_types"]["missing-label"] == 11
    assert after["summary"]["error_types"]["missing-label"] == 6
