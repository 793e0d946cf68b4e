"""The two journeys of issue 7 in a real browser, each page checked by axe-core.

A commune: signs in with its token, plans a release at its council meeting from the calendar,
uploads a real file with errors (the Lot's 2017 grants), reads the French report with the
faulty cells shown in the file, accepts the safe repairs and the column mapping, chooses the
council meeting, and sees the file open at that moment and not before.

A reuser: searches, opens the dataset and its map, filters its rows, downloads them as
GeoJSON.
"""

import json
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import axe_playwright_python
import httpx
import pytest

from tests.platform import Running

pytestmark = pytest.mark.e2e

AXE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PARIS = ZoneInfo("Europe/Paris")


def serious_violations(page: Any) -> list[str]:
    """What axe-core finds against WCAG 2.1 A and AA, of serious or critical impact."""
    page.evaluate(AXE)
    result = page.evaluate(
        "options => axe.run(document, options)",
        {"runOnly": {"type": "tag", "values": WCAG_AA}, "resultTypes": ["violations"]},
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def check(page: Any, shot: Any, name: str) -> None:
    """A screenshot, then no serious accessibility violation."""
    shot(page, name)
    assert serious_violations(page) == [], f"{name}: {page.url}"


def reload_until(page: Any, selector: str, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in page.inner_text(selector):
        assert time.monotonic() < deadline, f"{selector} never said {text!r}: {page.url}"
        time.sleep(0.5)
        page.reload()


def test_a_commune_publishes_a_file_at_its_council_meeting(
    embedded: Running, reference: Path, page: Any, shot: Any
) -> None:
    token = embedded.organization("lot-navigateur")
    ingest, events, catalog = (embedded.url(s) for s in ("ingest", "events", "catalog"))

    # Signing in.
    page.goto(ingest + "/espace")
    assert page.url.endswith("/espace/connexion")
    check(page, shot, "connexion")
    page.get_by_label("Jeton de l'organisation").fill(token)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(ingest + "/espace")
    check(page, shot, "espace")

    # The council meeting, from the calendar, and the release timed to it.
    opens = (datetime.now(PARIS) + timedelta(seconds=75)).replace(microsecond=0)
    page.get_by_role("link", name="Mon calendrier et mes publications programmées").click()
    page.wait_for_url(events + "/espace/calendrier")
    page.get_by_label("Intitulé").fill("Conseil municipal")
    page.get_by_label("Début (heure de Paris)").fill(opens.strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_role("button", name="Ajouter").click()
    page.get_by_text("Programmer une publication à cet événement").click()
    page.get_by_label("Nom de la publication (ex. Budget 2027)").fill("Subventions 2017")
    page.get_by_role("button", name="Programmer", exact=True).click()
    page.get_by_text("C'est programmé.").wait_for()
    check(page, shot, "calendrier")

    # The file, with its errors.
    page.goto(ingest + "/espace/deposer")
    page.get_by_label("Jeu de données").fill("subventions-lot")
    page.get_by_label("Schéma national (facultatif)").fill("scdl-subventions")
    page.get_by_label("Fichier (CSV, tableur XLSX ou ODS, JSON)").set_input_files(
        str(reference / "real" / "dep46-lot-subventions-2017.csv")
    )
    check(page, shot, "deposer")
    page.get_by_role("button", name="Envoyer le fichier").click()
    page.wait_for_url("**/espace/depots/*")
    # The upload's page reloads itself while the file is checked.
    page.locator("#etat", has_text="À corriger").wait_for(timeout=60_000)
    report = page.inner_text("main")
    assert "36 erreurs" in report
    # Grouped: the kind and the column once, with the faulty values as examples.
    amounts = page.locator("section.finding", has_text="il faut un nombre").filter(
        has_text="« montant »"
    )
    assert "40 000,00" in amounts.inner_text()
    # Where, in the file: the faulty cell of row 2 is marked in the excerpt.
    assert page.locator("table.excerpt mark", has_text="40 000,00").count() == 1
    # Before and after each repair.
    changes = page.locator("table.changes")
    assert changes.locator("del", has_text="40 000,00").count() == 1
    assert changes.locator("ins", has_text="40000.00").count() == 1
    check(page, shot, "rapport")

    # Accepting the repairs, to open at the council meeting.
    choice = page.locator("#release-corriger")
    release = choice.locator("option", has_text="Subventions 2017")
    choice.select_option(release.get_attribute("value"))
    page.locator("#accepter-corrections").click()
    page.locator("#etat", has_text="À corriger").wait_for(timeout=60_000)
    assert "2 erreurs" in page.inner_text("main")  # two column names left
    check(page, shot, "apres-corrections")
    # The choice made with the repairs stays chosen.
    chosen = page.locator("#release-correspondance option:checked")
    assert "Subventions 2017" in chosen.inner_text()
    page.locator("#accepter-correspondance").click()
    page.locator("#etat", has_text="Programmé").wait_for(timeout=60_000)
    assert "Conseil municipal" in page.inner_text("main")
    check(page, shot, "programme")

    # Not before its time...
    assert datetime.now(PARIS) < opens, "the journey took longer than the margin given"
    assert httpx.get(f"{catalog}/jeux-de-donnees/subventions-lot").status_code == 404
    # ...and at its time.
    wait = (opens - datetime.now(PARIS)).total_seconds()
    time.sleep(max(0.0, wait))
    reload_until(page, "#etat", "Publié", timeout=30)
    check(page, shot, "publie")
    page.get_by_role("link", name="Publié : voir dans le catalogue").click()
    page.wait_for_url(catalog + "/jeux-de-donnees/subventions-lot")
    assert page.locator(".badges .ok").count() == 1  # conforms to scdl-subventions
    check(page, shot, "catalogue")


def stations() -> bytes:
    """Charging points with coordinates, in three communes."""
    lines = ["nom,commune,latitude,longitude,points"]
    for i in range(30):
        commune = ("Roques", "Muret", "Portet-sur-Garonne")[i % 3]
        lines.append(f"Borne {i},{commune},{43.5 + i / 1000:.4f},{1.35 + i / 1000:.4f},{i % 4 + 1}")
    return ("\n".join(lines) + "\n").encode()


def test_a_reuser_finds_filters_and_downloads(
    embedded: Running, page: Any, shot: Any, tmp_path: Path
) -> None:
    token = embedded.organization("roques-navigateur")
    sent = embedded.upload(
        token, stations(), dataset="bornes-recharge-roques", title="Bornes de recharge"
    )
    assert sent.status_code == 202, sent.text
    embedded.wait_status(token, sent.json()["id"], {"published"})
    catalog = embedded.url("catalog")
    # The rows are loaded in the background: wait until the API serves them.
    deadline = time.monotonic() + 30
    while "Aperçu" not in httpx.get(f"{catalog}/jeux-de-donnees/bornes-recharge-roques").text:
        assert time.monotonic() < deadline
        time.sleep(0.2)

    page.goto(catalog + "/")
    check(page, shot, "accueil")
    page.get_by_label("Chercher un jeu de données").fill("bornes recharge")
    page.get_by_role("button", name="Chercher").click()
    page.get_by_role("link", name="Bornes de recharge").click()
    page.wait_for_url(catalog + "/jeux-de-donnees/bornes-recharge-roques")
    # The points on a map the server drew: a dot per row, all inside the drawing.
    dots = page.locator("svg.map path.points")
    assert dots.get_attribute("d").count("M") == 30
    box = page.locator("svg.map").bounding_box()
    drawn = dots.bounding_box()
    assert drawn["width"] > 100
    assert drawn["height"] > 100
    assert box["x"] <= drawn["x"]
    assert drawn["x"] + drawn["width"] <= box["x"] + box["width"]
    assert box["y"] <= drawn["y"]
    assert drawn["y"] + drawn["height"] <= box["y"] + box["height"]
    check(page, shot, "jeu-de-donnees")

    page.get_by_label("Colonne").select_option("commune")
    page.get_by_label("Condition").select_option("exact")
    page.get_by_label("Valeur").fill("Muret")
    page.get_by_role("button", name="Filtrer").click()
    rows = page.locator("#lignes tbody tr")
    rows.first.wait_for()
    assert rows.count() == 10
    assert set(page.locator("#lignes tbody td:nth-child(2)").all_inner_texts()) == {"Muret"}
    check(page, shot, "lignes-filtrees")

    with page.expect_download() as download:
        page.get_by_role("link", name="geojson").first.click()
    path = tmp_path / "bornes.geojson"
    download.value.save_as(path)
    collection = json.loads(path.read_text())
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == 30
    assert collection["features"][0]["geometry"]["coordinates"] == [1.35, 43.5]


def test_a_reuser_asks_votes_and_the_departement_sees_coverage(
    embedded: Running, reference: Path, page: Any, shot: Any
) -> None:
    departement = "lot-dept-navigateur"
    embedded.organization(departement, kind="departement")
    token = embedded.organization("cahors-navigateur", parent=departement)
    embedded.organization("figeac-navigateur", parent=departement)
    standard = (reference / "real" / "com-castelmaurou-subventions.csv").read_bytes()
    sent = embedded.upload(token, standard, dataset="subventions-cahors", schema="scdl-subventions")
    embedded.wait_status(token, sent.json()["id"], {"published"})
    catalog = embedded.url("catalog")

    page.goto(catalog + "/demandes")
    page.get_by_label("Quelles données ?").fill("Les délibérations de Figeac")
    page.get_by_label("Pour quel territoire (facultatif)").select_option("figeac-navigateur")
    page.get_by_role("button", name="Envoyer la demande").click()
    page.get_by_text("Votre demande est publiée.").wait_for()
    asked = page.locator("li", has_text="Les délibérations de Figeac")
    assert "0 vote(s)" in asked.inner_text()
    asked.get_by_role("button", name="Voter").click()
    page.get_by_text("Votre vote est compté.").wait_for()
    asked = page.locator("li", has_text="Les délibérations de Figeac")
    assert "1 vote(s)" in asked.inner_text()
    asked.get_by_role("button", name="Voter").click()  # the same browser again: still one
    assert "1 vote(s)" in page.locator("li", has_text="Les délibérations de Figeac").inner_text()
    check(page, shot, "demandes")
    # Another site cannot make a visitor vote: without the page's field, refused.
    forged = httpx.post(
        page.url.split("#")[0].split("?")[0] + "/00000000-0000-0000-0000-000000000000/votes",
        data={"csrf": "x"},
    )
    assert forged.status_code == 403

    page.goto(f"{catalog}/territoires/{departement}")
    matrix = page.locator("table.coverage")
    cahors = matrix.locator("tr", has_text="Cahors")
    figeac = matrix.locator("tr", has_text="Figeac")
    assert "subventions-cahors" in cahors.inner_text()
    assert "manque" in figeac.inner_text()
    assert "Les délibérations de Figeac — 1 vote(s)" in page.inner_text("main")
    check(page, shot, "territoire")

    # The other pages people land on, in both languages.
    for url, name in (
        (f"{catalog}/organisations/cahors-navigateur", "organisation"),
        (f"{catalog}/jeux-de-donnees/subventions-cahors?lang=en", "dataset-en"),
        (f"{embedded.url('events')}/a-paraitre", "a-paraitre"),
        (f"{embedded.url('ingest')}/noeuds", "noeuds"),
        (f"{catalog}/jeux-de-donnees/inconnu", "introuvable"),
    ):
        page.goto(url)
        check(page, shot, name)
    assert page.locator("html").get_attribute("lang") == "fr"


def test_the_upload_shows_its_progress(embedded: Running, page: Any, shot: Any) -> None:
    """On a slow line (the browser's upload throttled to 16 KB/s) the bar follows the bytes."""
    token = embedded.organization("lente-navigateur")
    ingest = embedded.url("ingest")
    page.goto(ingest + "/espace/connexion")
    page.get_by_label("Jeton de l'organisation").fill(token)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(ingest + "/espace")
    page.goto(ingest + "/espace/deposer")
    page.get_by_label("Jeu de données").fill("releves-lents")
    page.get_by_label("Fichier (CSV, tableur XLSX ou ODS, JSON)").set_input_files(
        files=[
            {
                "name": "releves.csv",
                "mimeType": "text/csv",
                "buffer": b"poste,valeur\n" + b"".join(b"p%d,%d\n" % (i, i) for i in range(9000)),
            }
        ]
    )
    cdp = page.context.new_cdp_session(page)
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 16_000},
    )
    page.get_by_role("button", name="Envoyer le fichier").click()
    # The bar shows a part sent, neither nothing nor everything, and says so in words.
    page.wait_for_function(
        "() => { const v = document.getElementById('barre').value; return v > 5 && v < 95; }"
    )
    assert "Envoi en cours…" in page.inner_text("#progression-texte")
    assert "%" in page.inner_text("#progression-texte")
    shot(page, "progression")
    page.wait_for_url("**/espace/depots/*", timeout=60_000)
    page.locator("#etat").wait_for()


def test_a_windows_1252_file_shows_its_accents_in_the_browser(
    embedded: Running, page: Any, shot: Any
) -> None:
    """A town hall's spreadsheet export, Windows-1252 as Excel writes it, opened from the
    dataset page in the browser: the accents, « € » and « ’ » as typed, not « Ã© »."""
    token = embedded.organization("roques-accents")
    text = "commune;montant;objet\r\nSaint-Étienne;12 €;l’été des écoles\r\nÈze;3 €;déjà vu\r\n"
    sent = embedded.upload(
        token, text.encode("cp1252"), dataset="accents-navigateur", title="Accents"
    )
    embedded.wait_status(token, sent.json()["id"], {"published"})
    catalog = embedded.url("catalog")

    page.goto(f"{catalog}/jeux-de-donnees/accents-navigateur")
    page.get_by_role("link", name="afficher dans le navigateur").first.click()
    page.wait_for_load_state()
    shot(page, "fichier-affiche")
    shown = page.inner_text("body")
    assert "Saint-Étienne;12 €;l’été des écoles" in shown
    assert "Èze;3 €;déjà vu" in shown
