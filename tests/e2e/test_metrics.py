"""Each service's /metrics moves as a file goes through the platform: the request, the events
published and consumed, the check, the upload's final status (docs/operations.md)."""

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.platform import Running

pytestmark = pytest.mark.e2e

SERVICES = ("ingest", "validate", "catalog", "events")


def scrape(running: Running, service: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    answer = httpx.get(running.url(service) + "/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def test_a_publication_moves_every_service_s_counters(embedded: Running) -> None:
    before = {service: scrape(embedded, service) for service in SERVICES}
    token = embedded.organization("roques-mesures")
    answer = embedded.upload(token, b"nom,montant\nClub,12\n", dataset="mesures")
    assert answer.status_code == 202, answer.text
    done = embedded.wait_status(token, answer.json()["id"], {"published", "invalid", "rejected"})
    assert done["status"] == "published", done
    after = {service: scrape(embedded, service) for service in SERVICES}

    def moved(service: str, name: str, **labels: str) -> float:
        return value(after[service], name, **labels) - value(before[service], name, **labels)

    upload_route = {"route": "/api/v1/uploads", "method": "POST", "status": "202"}
    assert moved("ingest", "datacommune_http_requests_total", **upload_route) == 1
    assert moved("ingest", "datacommune_events_published_total", type="file.received.v1") == 1
    assert value(after["ingest"], "datacommune_uploads", status="published") >= 1
    assert moved("validate", "datacommune_validations_total", outcome="valid") >= 1
    assert moved("validate", "datacommune_validation_duration_seconds_count") >= 1
    assert moved("validate", "datacommune_events_consumed_total", outcome="ok") >= 1
    assert moved("catalog", "datacommune_events_published_total", type="resource.published.v1") >= 1
    assert moved("catalog", "datacommune_events_consumed_total", outcome="ok") >= 1
    for service in SERVICES:
        # Every service reads its outbox at each scrape; nothing waits once all is done.
        assert ("datacommune_outbox_backlog", frozenset({("service", service)})) in after[service]
        assert moved(service, "datacommune_http_requests_total", route="/metrics") >= 1
