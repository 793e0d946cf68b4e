"""The collectivités' space over plain HTTP: signing in, the cookie, the form field that stops
other sites, the schema the report guesses, and problems as pages for browsers."""

import html
import re
import time
from pathlib import Path

import httpx
import pytest

from tests.platform import Running

pytestmark = pytest.mark.e2e


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no csrf field on the page"
    return found.group(1)


def test_signing_in_and_sending_a_form(embedded: Running, reference: Path) -> None:
    token = embedded.organization("espace-roques")
    ingest = embedded.url("ingest")
    with httpx.Client(base_url=ingest, timeout=30) as browser:
        refused = browser.post("/espace/connexion", data={"token": "dc_not-a-token"})
        assert refused.status_code == 401
        assert "Ce jeton n'est pas reconnu" in html.unescape(refused.text)
        assert "datacommune_jeton" not in refused.headers.get("set-cookie", "")

        # Another site cannot sign a visitor in (to its own organization) nor send a form.
        for header in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://ailleurs.example"}):
            foreign = browser.post("/espace/connexion", data={"token": token}, headers=header)
            assert foreign.status_code == 403, header
            assert "datacommune_jeton" not in foreign.headers.get("set-cookie", "")

        signed = browser.post("/espace/connexion", data={"token": token})
        assert signed.status_code == 303
        assert signed.headers["location"] == "/espace"
        cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
        space = browser.get("/espace")
        assert space.status_code == 200
        assert "Espace-Roques" in space.text
        assert space.headers["cache-control"] == "no-store"

        # A release this page does not know yet (just planned) is kept, never silently dropped.
        planned = "3f1c6a52-9e0b-4b8e-8a51-2d7c0b6f9e11"
        form = browser.get("/espace/deposer", params={"release": planned}).text
        assert f'<option value="{planned}" selected>' in form
        content = (reference / "real" / "dep46-lot-subventions-2017.csv").read_bytes()
        files = {"file": ("lot.csv", content, "text/csv")}
        # Sent by another site: the browser adds the cookie, but the field is missing.
        forged = browser.post("/espace/deposer", data={"dataset": "lot"}, files=files)
        assert forged.status_code == 403
        assert forged.json()["type"] == "/problems/forbidden"
        sent = browser.post(
            "/espace/deposer", data={"dataset": "lot", "csrf": csrf_of(form)}, files=files
        )
        assert sent.status_code == 303
        upload_page = sent.headers["location"]

        # No schema given: the report says which one the file looks like, with a button.
        deadline = time.monotonic() + 30
        while "Ce fichier ressemble à" not in (page := browser.get(upload_page).text):
            assert time.monotonic() < deadline, page[-2000:]
            time.sleep(0.3)
        assert 'name="schema" value="scdl-subventions@2.1.1"' in page
        assert re.search(r"colonnes reconnues à \d+ %", page)
        again = browser.post(
            upload_page + "/nouvel-essai",
            data={"schema": "scdl-subventions@2.1.1", "csrf": csrf_of(page)},
        )
        assert again.status_code == 303
        assert again.headers["location"] != upload_page
        deadline = time.monotonic() + 30
        while "36 erreurs" not in (checked := browser.get(again.headers["location"]).text):
            assert time.monotonic() < deadline, checked[-2000:]
            time.sleep(0.3)
        assert "scdl-subventions@2.1.1" in checked

        signed_out = browser.post("/espace/deconnexion")
        assert signed_out.status_code == 303
        assert browser.get("/espace").status_code == 303  # back to the sign-in page


def test_problems_are_pages_for_browsers_and_json_for_scripts(embedded: Running) -> None:
    url = embedded.url("catalog") + "/api/v1/datasets/nothing-here"
    script = httpx.get(url)
    assert script.status_code == 404
    assert script.headers["content-type"] == "application/problem+json"
    browser = httpx.get(url + "?lang=en", headers={"Accept": "text/html,*/*;q=0.8"})
    assert browser.status_code == 404
    assert browser.headers["content-type"].startswith("text/html")
    assert '<html lang="en">' in browser.text
    assert "No dataset" in browser.text or "Not found" in browser.text
    bad_cursor = httpx.get(
        embedded.url("catalog") + "/?cursor=nonsense", headers={"Accept": "text/html"}
    )
    assert bad_cursor.status_code == 400
    assert bad_cursor.headers["content-type"].startswith("text/html")
