"""Hostile text in every field a collectivité writes, shown in a real browser: nothing runs.

The pages' Content-Security-Policy would block inline scripts anyway; these pages are opened
with it switched off, so that escaping alone is what is tested.
"""

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.platform import ADMIN, Running

pytestmark = pytest.mark.e2e

MARK = "window.__xss=1"
PAYLOADS = [
    f"<script>{MARK}</script>",
    f'"><img src=x onerror="{MARK}">',
    f'<svg onload="{MARK}"><circle r=1></circle></svg>',
    f'\'><a href="javascript:{MARK}">lien</a>',
    f'<iframe srcdoc="<script>parent.{MARK}</script>"></iframe>',
]
HOSTILE = " ".join(PAYLOADS)
# Names and titles have a length limit: the three classic payloads.
SHORT = " ".join(PAYLOADS[:3])


@pytest.fixture
def unprotected(browser: Any) -> Iterator[Any]:
    """A page whose CSP is ignored, that records every dialog and script error."""
    context = browser.new_context(bypass_csp=True, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    yield page
    context.close()


def visit(page: Any, url: str) -> str:
    page.goto(url)
    page.wait_for_load_state("load")
    time.sleep(0.2)  # an onerror or onload would have fired by now
    assert page.evaluate("window.__xss") is None, url
    assert page.dialogs == [], url
    for tag in ("script:not([src])", "body img", "body svg", "body iframe"):
        assert page.locator(tag).count() == 0, (url, tag)
    assert page.locator("a[href^='javascript:' i]").count() == 0, url
    text: str = page.inner_text("main" if page.locator("main").count() else "body")
    return text


def test_hostile_text_never_runs(embedded: Running, unprotected: Any) -> None:
    catalog, ingest, events = (embedded.url(s) for s in ("catalog", "ingest", "events"))
    created = httpx.post(
        f"{catalog}/api/v1/organizations",
        json={"slug": "xss-roques", "name": f"Roques {SHORT}", "kind": "commune"},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 20
    while httpx.get(f"{ingest}/api/v1/whoami", headers=auth).status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.05)

    rows = "".join(f'"{p.replace(chr(34), chr(34) * 2)}",{n}\n' for n, p in enumerate(PAYLOADS))
    sent = embedded.upload(
        token,
        f"poste,montant\n{rows}".encode(),
        dataset="xss-budget",
        filename='<svg onload="alert(1)">budget.csv',
        title=f"Budget {SHORT}",
    )
    assert sent.status_code == 202, sent.text
    upload_id = sent.json()["id"]
    embedded.wait_status(token, upload_id, {"published"})
    patched = httpx.patch(
        f"{catalog}/api/v1/datasets/xss-budget",
        json={
            "title": f"Budget {SHORT}",
            "description": f"Le **budget** {HOSTILE} [cliquez](javascript:{MARK})",
            "keywords": PAYLOADS,
        },
        headers=auth,
    )
    assert patched.status_code == 200, patched.text
    event = httpx.post(
        f"{events}/api/v1/local-events",
        json={"title": f"Conseil {SHORT}", "starts_at": "2031-06-02T18:00:00"},
        headers=auth,
    )
    assert event.status_code == 201, event.text
    release = httpx.post(
        f"{events}/api/v1/releases",
        json={"title": f"Lot {SHORT}", "local_event_id": event.json()["id"], "announce": True},
        headers=auth,
    )
    assert release.status_code == 201, release.text

    page = unprotected
    shown = visit(page, f"{catalog}/?q=budget")
    assert "<script>" in shown  # as text
    for url in (
        f"{catalog}/?q={PAYLOADS[0]}",
        f"{catalog}/jeux-de-donnees/xss-budget",
        f"{catalog}/organisations/xss-roques",
        f"{events}/a-paraitre",
    ):
        assert "onerror" in visit(page, url) or url.endswith("?q=" + PAYLOADS[0])

    # The commune's own pages, signed in.
    page.goto(f"{ingest}/espace/connexion")
    page.get_by_label("Jeton de l'organisation").fill(token)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{ingest}/espace")
    for url in (
        f"{ingest}/espace",
        f"{ingest}/espace/depots/{upload_id}",
        f"{ingest}/api/v1/uploads/{upload_id}/report?format=html",  # the page links to it
        f"{ingest}/espace/deposer",
        f"{events}/espace/calendrier",
    ):
        visit(page, url)
    assert "Conseil <script>" in visit(page, f"{events}/espace/calendrier")
