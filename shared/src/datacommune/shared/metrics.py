"""Prometheus metrics, served by every process at ``/metrics`` (prometheus_client, the
maintained client library): its HTTP requests, the events it publishes and consumes, its outbox
backlog and database connections, and what each service adds (``metrics_router``'s refresh).

Counters count what this process did; a replica has its own, and Prometheus sums them. Gauges
read from the database at each scrape (the outbox backlog, uploads by status) give the same
number from every replica of a service: aggregate them with ``max``, not ``sum``.
docs/operations.md lists the metrics and the alerts built on them.
"""

import time
from collections.abc import Awaitable, Callable

import structlog
from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger()

# Seconds: from a health check to a large upload read in one request.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

HTTP_REQUESTS = Counter(
    "datacommune_http_requests",
    "HTTP requests answered, by route template and status",
    ["service", "route", "method", "status"],
)
HTTP_SECONDS = Histogram(
    "datacommune_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template",
    ["service", "route", "method"],
    buckets=LATENCY_BUCKETS,
)
EVENTS_PUBLISHED = Counter(
    "datacommune_events_published",
    "Events JetStream stored from this process (repeats it dropped by Nats-Msg-Id not counted)",
    ["service", "type"],
)
EVENTS_CONSUMED = Counter(
    "datacommune_events_consumed",
    "Events handled by a durable consumer: ok, not_yet (waits for another) or failed",
    ["service", "consumer", "outcome"],
)
EVENTS_REDELIVERED = Counter(
    "datacommune_events_redelivered",
    "Deliveries that were not an event's first (after a failure, a not-yet or a crash)",
    ["service", "consumer"],
)
OUTBOX_BACKLOG = Gauge(
    "datacommune_outbox_backlog", "Events written to the outbox and not published yet", ["service"]
)
OUTBOX_OLDEST = Gauge(
    "datacommune_outbox_oldest_seconds",
    "Age of the oldest event not published yet (0 when none waits)",
    ["service"],
)
DB_CONNECTIONS = Gauge(
    "datacommune_db_connections_in_use",
    "Database connections this process has checked out of its pool",
    ["service"],
)

# Each service's own, kept here too so that the alert rules and docs/operations.md can be
# checked against one list (tests/shared/test_metrics.py).
UPLOADS = Gauge(
    "datacommune_uploads",
    "ingest: uploads by status (received, validating, valid, invalid, published, rejected, "
    "scheduled), read from its database",
    ["status"],
)
NODE_FILES_WAITING = Gauge(
    "datacommune_node_files_waiting",
    "ingest on the hub: files a node has accepted that have not reached the hub",
    ["node"],
)
NODE_REACHABLE = Gauge(
    "datacommune_node_reachable", "ingest on the hub: 1 if the node's link is up", ["node"]
)
VALIDATIONS = Counter(
    "datacommune_validations",
    "validate: files checked, by outcome (valid, invalid, refused: not readable as a table)",
    ["outcome"],
)
VALIDATION_SECONDS = Histogram(
    "datacommune_validation_duration_seconds",
    "validate: time to check a file, repair proposal included",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
VALIDATION_ROWS = Histogram(
    "datacommune_validation_rows",
    "validate: rows of each file checked",
    buckets=(10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000),
)
RELEASE_DELAY = Histogram(
    "datacommune_release_delay_seconds",
    "events: how long after its time a release was opened",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)


class HttpMetrics:
    """ASGI middleware counting and timing each request under its route's template (never
    the raw path, whose ids would make a series per dataset)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or "(unmatched)"
            method = scope["method"]
            HTTP_REQUESTS.labels(self.service, route, method, str(status)).inc()
            HTTP_SECONDS.labels(self.service, route, method).observe(time.perf_counter() - started)


def metrics_router(refresh: Callable[[], Awaitable[None]]) -> APIRouter:
    """``GET /metrics`` in Prometheus's text format; ``refresh`` sets the gauges read from the
    database first. Not in the OpenAPI document: it is for the operator's Prometheus, and the
    load balancer does not route it to the public."""
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        try:
            await refresh()
        except Exception as exc:  # the counters are still worth having; /readyz says why
            log.warning("metrics_not_refreshed", error=repr(exc))
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
