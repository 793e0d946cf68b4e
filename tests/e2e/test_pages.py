"""The catalogue's HTML pages: search, a dataset, an organization; safe, accessible, bilingual."""

import re
import time
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from tests.platform import ADMIN, Running

pytestmark = pytest.mark.e2e

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
SVG = "<svg onload=alert(1)>"
PAYLOADS = [SCRIPT, IMG, SVG]
DATASET = "pages-budget"


class Tags(HTMLParser):
    """The start tags of a page, with their attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


def assert_accessible(html: str, lang: str = "fr") -> None:
    """The basics: a language, one h1, a skip link, a label for each field, alt on images."""
    assert html.startswith("<!DOCTYPE html>")
    found = tags(html)
    assert found[0] == ("html", {"lang": lang})
    assert [t for t, _ in found].count("h1") == 1
    assert any(t == "a" and a.get("href") == "#contenu" for t, a in found)
    assert any(t == "main" and a.get("id") == "contenu" for t, a in found)
    labelled = {a.get("for") for t, a in found if t == "label"}
    for tag, attrs in found:
        if tag == "input" and attrs.get("type") != "hidden":
            assert attrs.get("id") in labelled, attrs
        if tag == "img":
            assert "alt" in attrs
    assert all(
        (a.get("src") or "").startswith("/static/")
        for t, a in found
        if t in ("script", "img") and a.get("src")
    )
    assert "//cdn" not in html
    assert "<script" not in html


def assert_safe(html: str) -> None:
    """Every payload shows as text, never as markup or a link."""
    for payload in PAYLOADS:
        assert payload not in html
    assert "<img" not in html
    assert "<svg" not in html
    assert 'href="javascript:' not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def rows_ready(catalog: str, version: str) -> None:
    deadline = time.monotonic() + 20
    while httpx.get(f"{catalog}/api/v1/versions/{version}/rows").status_code != 200:
        assert time.monotonic() < deadline, "rows never loaded"
        time.sleep(0.1)


def test_pages_search_dataset_organization(embedded: Running, corpus: Path) -> None:
    catalog = embedded.url("catalog")
    created = httpx.post(
        f"{catalog}/api/v1/organizations",
        json={"slug": "pages-roques", "name": f"Roques {SCRIPT}", "kind": "commune"},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 20
    while httpx.get(embedded.url("ingest") + "/api/v1/whoami", headers=auth).status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.05)

    content = f"poste,montant\n{SCRIPT},10\nVoirie des Pages,2000\n".encode()
    upload = embedded.upload(token, content, dataset=DATASET, filename=f"{SVG}budget.csv")
    assert upload.status_code == 202, upload.text
    embedded.wait_status(token, upload.json()["id"], {"published"})
    standard = (corpus / "real/com-castelmaurou-subventions.csv").read_bytes()
    upload = embedded.upload(
        token, standard, dataset=DATASET, filename="subventions.csv", schema="scdl-subventions"
    )
    assert upload.status_code == 202, upload.text
    embedded.wait_status(token, upload.json()["id"], {"published"})
    patched = httpx.patch(
        f"{catalog}/api/v1/datasets/{DATASET}",
        json={
            "title": f"Budget des pages {SCRIPT} {IMG}",
            "description": f"Le **budget**. {SCRIPT} [cliquez](javascript:alert(1)) {SVG} {IMG}",
            "keywords": ["budget", SCRIPT, IMG, SVG],
            "theme": "ECON",
            "licence": "etalab-2.0",
        },
        headers=auth,
    )
    assert patched.status_code == 200, patched.text
    first, second = patched.json()["resources"]
    version = first["latest"]["id"]
    rows_ready(catalog, version)
    rows_ready(catalog, second["latest"]["id"])

    # Home: the search form, the dataset in the results, its facets as links.
    home = httpx.get(f"{catalog}/", params={"q": "budget pages"})
    assert home.status_code == 200
    assert home.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in home.headers["content-security-policy"]
    html = home.text
    assert_accessible(html)
    assert_safe(html)
    assert f'href="/jeux-de-donnees/{DATASET}"' in html
    assert "Budget des pages" in html
    # Enough to choose without opening it: the description's start (as text, its link's words
    # only), the last change, the formats and size, and how it stands against its schema.
    assert '<p class="excerpt">Le budget.' in html
    assert "javascript:" not in html
    assert "mis à jour le" in html
    assert " · CSV · " in html
    assert re.search(r" · \d+(,\d)? (octets|Ko) ", html)
    assert "au schéma <code>scdl-subventions@2.1.1</code>" in html
    assert '<a href="/?theme=ECON&amp;q=budget+pages">Économie et finances</a>' in html
    assert 'href="/?organization=pages-roques&amp;q=budget+pages"' in html
    assert 'href="/?licence=etalab-2.0&amp;q=budget+pages"' in html
    assert 'href="/?format=csv&amp;q=budget+pages"' in html
    filtered = httpx.get(f"{catalog}/", params={"theme": "ECON", "organization": "pages-roques"})
    assert f"/jeux-de-donnees/{DATASET}" in filtered.text
    assert "retirer le filtre" in filtered.text

    # The dataset: description, files, exports, preview rows, API snippets.
    page = httpx.get(f"{catalog}/jeux-de-donnees/{DATASET}")
    assert page.status_code == 200
    html = page.text
    assert_accessible(html)
    assert_safe(html)
    assert "<strong>budget</strong>" in html
    assert "&lt;svg onload=alert(1)&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    schema = second["latest"]["schema"]
    assert schema.startswith("scdl-subventions")
    badge = "Conforme au schéma" if second["latest"]["valid"] else "Non conforme au schéma"
    assert f"{badge} <code>{schema}</code>" in html
    assert "(20 / 95 lignes)" in html
    assert "COMITE FETES DE CASTELMAUROU" in html
    assert f"/api/v1/versions/{version}/download" in html
    for fmt in ("csv", "json", "parquet", "xlsx"):
        assert f"/api/v1/versions/{version}/rows.{fmt}" in html
    # A table without coordinates links to no GeoJSON export (it would answer 404).
    assert f"/api/v1/versions/{version}/rows.geojson" not in html
    assert "Voirie des Pages" in html
    assert "2000" in html
    assert "Aperçu des premières lignes" in html
    assert f"curl http://127.0.0.1:{catalog.rsplit(':', 1)[1]}/api/v1/datasets/{DATASET}" in html
    assert "import httpx" in html
    assert f"/api/v1/versions/{version}/rows" in html
    assert 'href="/organisations/pages-roques"' in html

    # English: labels switch and links keep the language.
    english = httpx.get(f"{catalog}/jeux-de-donnees/{DATASET}", params={"lang": "en"}).text
    assert_accessible(english, lang="en")
    assert "First rows" in english
    assert "Files" in english
    assert 'href="/organisations/pages-roques?lang=en"' in english
    assert f'href="/jeux-de-donnees/{DATASET}"' in english  # the switch back to French

    # The organization: its name (escaped), kind and datasets.
    org = httpx.get(f"{catalog}/organisations/pages-roques")
    assert org.status_code == 200
    assert_accessible(org.text)
    assert_safe(org.text)
    assert "Commune" in org.text
    assert f"/jeux-de-donnees/{DATASET}" in org.text

    # Unknown: a 404 page, in HTML.
    for path in ("/jeux-de-donnees/nulle-part", "/organisations/nulle-part"):
        missing = httpx.get(catalog + path)
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("text/html")
        assert_accessible(missing.text)
        assert "Page introuvable" in missing.text

    css = httpx.get(f"{catalog}/static/pages.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert ":focus-visible" in css.text
