"""One upload is one trace: from the HTTP request at ingest through every outbox and NATS hop,
validate, catalog and events, to the webhook that announces it; a release's opening is a trace
of its own, from events' scheduler to the webhook. The spans reach a collector of the test's
own by OTLP over HTTP, as they would reach Jaeger, Tempo or an OpenTelemetry Collector."""

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests import figures
from tests.platform import Running, running_platform

pytestmark = pytest.mark.e2e

SERVICES = {"ingest", "validate", "catalog", "events"}


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    start: int
    end: int


class Collector(ThreadingHTTPServer):
    """Takes OTLP/HTTP trace exports at /v1/traces and webhooks at /hook."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.spans: list[Span] = []
        # Each webhook received: its headers, and the dataset it announces.
        self.hooks: list[tuple[dict[str, str], str]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def hook_trace(self, dataset: str) -> str:
        """The trace id the webhook announcing ``dataset`` carried, once it came."""
        wait_for(lambda: any(d == dataset for _, d in self.hooks))
        headers = next(h for h, d in self.hooks if d == dataset)
        return headers["traceparent"].split("-")[1]

    def trace(self, trace_id: str) -> list[Span]:
        with self.lock:
            return [s for s in self.spans if s.trace_id == trace_id]


class _Handler(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/v1/traces":
            request = ExportTraceServiceRequest.FromString(body)
            with self.server.lock:
                for resource_spans in request.resource_spans:
                    attributes = {
                        a.key: a.value.string_value for a in resource_spans.resource.attributes
                    }
                    service = attributes["service.name"].removeprefix("datacommune-")
                    for scope in resource_spans.scope_spans:
                        self.server.spans += [
                            Span(
                                service,
                                s.name,
                                s.trace_id.hex(),
                                s.span_id.hex(),
                                s.parent_span_id.hex(),
                                s.start_time_unix_nano,
                                s.end_time_unix_nano,
                            )
                            for s in scope.spans
                        ]
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            return
        with self.server.lock:
            headers = {k.lower(): v for k, v in self.headers.items()}
            self.server.hooks.append((headers, json.loads(body)["dataset"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    server = Collector()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory, collector: Collector) -> Iterator[Running]:
    """The embedded platform exporting its spans to ``collector``, batches sent every 200 ms."""
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "OTEL_BSP_SCHEDULE_DELAY": "200"}
    with running_platform(Path(tmp_path_factory.mktemp("traced")), env=env) as running:
        yield running


def wait_for(condition: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.1)


def connected(spans: list[Span]) -> bool:
    """One root, and every other span's parent among the spans."""
    ids = {s.span_id for s in spans}
    return sum(1 for s in spans if s.parent_id not in ids) == 1


def tree(spans: list[Span]) -> str:
    """The spans as an indented tree, children by start time, with offsets and durations."""
    ids = {s.span_id for s in spans}
    (root,) = [s for s in spans if s.parent_id not in ids]
    children: dict[str, list[Span]] = {}
    for s in spans:
        children.setdefault(s.parent_id, []).append(s)
    lines: list[str] = []

    def walk(span: Span, depth: int) -> None:
        offset = (span.start - root.start) / 1e6
        took = (span.end - span.start) / 1e6
        label = f"{'  ' * depth}{span.service:<9} {span.name}"
        lines.append(f"{label:<64} +{offset:8.1f} ms {took:8.1f} ms")
        for child in sorted(children.get(span.span_id, []), key=lambda c: c.start):
            walk(child, depth + 1)

    walk(root, 0)
    return "\n".join(lines)


def settled(collector: Collector, trace_id: str, *needed: tuple[str, str]) -> list[Span]:
    """The trace's spans once the ``needed`` (service, name) pairs have arrived — its root
    among them — and the spans form one tree (each process sends its batch on its own)."""

    def whole() -> bool:
        spans = collector.trace(trace_id)
        names = {(s.service, s.name) for s in spans}
        return set(needed) <= names and connected(spans)

    wait_for(whole)
    return collector.trace(trace_id)


def root_of(spans: list[Span]) -> tuple[str, str]:
    ids = {s.span_id for s in spans}
    (root,) = [s for s in spans if s.parent_id not in ids]
    return root.service, root.name


def subscribe(running: Running, collector: Collector, organization: str) -> None:
    answer = httpx.post(
        running.url("catalog") + "/api/v1/webhooks",
        json={"url": collector.url + "/hook", "scope": "organization", "value": organization},
    )
    assert answer.status_code == 201, answer.text


def test_one_upload_is_one_trace_through_the_four_services(
    traced: Running, collector: Collector
) -> None:
    token = traced.organization("roques-traces")
    subscribe(traced, collector, "roques-traces")
    answer = traced.upload(token, b"nom,montant\nClub,12\n", dataset="mesures-tracees")
    assert answer.status_code == 202, answer.text
    done = traced.wait_status(token, answer.json()["id"], {"published", "invalid", "rejected"})
    assert done["status"] == "published", done
    # The subscriber is handed the trace too (W3C Trace Context), to carry on if it wishes.
    trace_id = collector.hook_trace("mesures-tracees")
    spans = settled(
        collector,
        trace_id,
        ("ingest", "POST /api/v1/uploads"),
        ("ingest", "file.received.v1 publish"),
        ("catalog", "webhook POST"),
        ("events", "resource.published.v1 process"),
        ("ingest", "resource.published.v1 process"),
    )
    figures.record("trace-upload", f"one upload, one trace ({len(spans)} spans):\n{tree(spans)}")
    assert root_of(spans) == ("ingest", "POST /api/v1/uploads")
    assert {s.service for s in spans} == SERVICES
    names = {(s.service, s.name) for s in spans}
    # Each hop: the outbox's publication, then its consumer, one child of the other.
    for hop in [
        ("ingest", "file.received.v1 publish"),
        ("validate", "file.received.v1 process"),
        ("validate", "file.validated.v1 publish"),
        ("catalog", "file.validated.v1 process"),
        ("catalog", "resource.published.v1 publish"),
    ]:
        assert hop in names, hop
    by_id = {s.span_id: s for s in spans}
    webhook = next(s for s in spans if s.name == "webhook POST")
    assert by_id[webhook.parent_id].name == "file.validated.v1 process"


def test_a_release_opening_is_a_trace_from_the_scheduler_to_the_webhook(
    traced: Running, collector: Collector
) -> None:
    token = traced.organization("roques-ouverture")
    subscribe(traced, collector, "roques-ouverture")
    headers = {"Authorization": f"Bearer {token}"}
    events_api = traced.url("events") + "/api/v1/releases"
    paris = ZoneInfo("Europe/Paris")
    at = (datetime.now(paris) + timedelta(seconds=10)).replace(tzinfo=None, microsecond=0)
    plan = httpx.post(
        events_api, json={"title": "Conseil", "at": at.isoformat()}, headers=headers
    ).json()
    answer = traced.client.post(
        traced.url("ingest") + "/api/v1/uploads",
        data={"dataset": "budget-ouverture", "release": plan["id"]},
        files={"file": ("budget.csv", b"poste,montant\nvoirie,10\n", "text/csv")},
        headers=headers,
    )
    upload = traced.wait_status(token, answer.json()["id"], {"scheduled", "published"})
    # Before it opens, the release says what it will open (events learnt it from catalog).
    release = httpx.get(f"{events_api}/{plan['id']}", headers=headers).json()
    assert release["status"] == "scheduled", release
    wait_for(lambda: httpx.get(f"{events_api}/{plan['id']}", headers=headers).json()["contents"])
    (content,) = httpx.get(f"{events_api}/{plan['id']}", headers=headers).json()["contents"]
    assert content["dataset"] == "budget-ouverture"
    assert content["version_id"] in content["download_url"]
    assert upload["download_url"] in (None, content["download_url"]), upload
    trace_id = collector.hook_trace("budget-ouverture")

    spans = settled(
        collector,
        trace_id,
        # The root too: each process sends its spans on its own, the scheduler's may come last.
        ("events", "release open"),
        ("events", "release.opened.v1 publish"),
        ("catalog", "webhook POST"),
    )
    figures.record("trace-release", f"one release opening, one trace:\n{tree(spans)}")
    assert root_of(spans) == ("events", "release open")
    names = [(s.service, s.name) for s in sorted(spans, key=lambda s: s.start)]
    for step in [
        ("events", "release.opened.v1 publish"),
        ("catalog", "release.opened.v1 process"),
        ("catalog", "release apply"),
        ("catalog", "webhook POST"),
    ]:
        assert step in names, step
