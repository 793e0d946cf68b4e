"""Each service's API documentation (Swagger UI at /docs, ReDoc at /redoc) in a browser cut
off from the internet, as on a town-hall PC: every asset comes from the service itself."""

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.platform import Running

pytestmark = pytest.mark.e2e

DRAWN = 90_000  # milliseconds


@pytest.mark.parametrize("service", ["ingest", "validate", "catalog", "events"])
def test_the_docs_work_offline(embedded: Running, page: Any, shot: Any, service: str) -> None:
    base = embedded.url(service)
    here = urlsplit(base).netloc
    refused: list[str] = []

    def only_the_service(route: Any) -> None:
        # The network is the service alone: anything else would be a CDN the PC cannot reach.
        if urlsplit(route.request.url).netloc == here:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_service)
    page.goto(f"{base}/docs")
    # Swagger UI drew the operations of the document it fetched. That it does, not how fast:
    # catalog's reference is long, and a CI machine at load 10 took over 20 s to draw it.
    page.wait_for_selector(".opblock", timeout=DRAWN)
    assert page.locator(".opblock").count() >= 3
    shot(page, f"{service}-swagger")
    page.goto(f"{base}/redoc")
    page.wait_for_selector("[data-section-id]", timeout=DRAWN)
    shot(page, f"{service}-redoc")
    assert refused == []
