"""OpenTelemetry traces across the platform: one upload is one trace, from its HTTP request
through each outbox and NATS hop to the webhook that announces it.

Off unless an OTLP endpoint is configured with OpenTelemetry's own variables
(``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``; the exporter also
reads ``OTEL_EXPORTER_OTLP_HEADERS``, the SDK ``OTEL_TRACES_SAMPLER``…), so an operator's
collector needs no setting of ours. Off, the API's tracer records nothing, ``traceparent()``
is None and no header is sent.

The trace context crosses each hop as a W3C ``traceparent``: an outbox row keeps the one of
the transaction that wrote it (the relay may publish minutes later, from another replica), the
relay sends it in the NATS message's headers, a consumer continues it, and a webhook delivery
keeps it like an outbox row and sends it to the subscriber.
"""

import contextlib
import os
import socket
from collections.abc import Iterator, Mapping

from fastapi import FastAPI
from opentelemetry import context, propagate, trace
from opentelemetry.trace import Span
from opentelemetry.trace import SpanKind as SpanKind

# Exporting and the SDK are loaded only when tracing is on.
_provider: trace.TracerProvider | None = None
_tracer = trace.get_tracer("datacommune")
# What the HTTP spans leave out: scrapes and probes, many a second, tell no story.
UNTRACED_PATHS = "/metrics,/healthz,/readyz"


def enabled() -> bool:
    """Whether an OTLP endpoint is configured in the environment."""
    return (
        bool(
            os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        )
        and os.environ.get("OTEL_SDK_DISABLED", "").lower() != "true"
    )


def configure(service: str) -> None:
    """Export this process's spans by OTLP over HTTP when configured; once per process."""
    global _provider
    if _provider is not None or not enabled():
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create(
        {
            "service.name": f"datacommune-{service}",
            "service.namespace": "datacommune",
            # Replicas of one service are told apart by their process.
            "service.instance.id": f"{socket.gethostname()}:{os.getpid()}",
        }
    )
    # The provider sends what it still holds when the process exits (its atexit hook).
    provider = TracerProvider(resource=resource)
    # Batched off the event loop: a collector away costs dropped spans, never a request.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _provider = provider


def instrument(app: FastAPI, service: str) -> None:
    """Trace every HTTP request of ``app`` (a server span per request) when tracing is on."""
    configure(service)
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=_provider,
        excluded_urls=UNTRACED_PATHS,
        # One span per request; a span per body chunk sent or received would drown it.
        exclude_spans=["receive", "send"],
    )


def traceparent() -> str | None:
    """The current context as a W3C ``traceparent``, or None when nothing is being traced."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def headers(parent: str | None) -> dict[str, str]:
    """The headers carrying ``parent`` onward (none for none)."""
    return {"traceparent": parent} if parent else {}


def _context(parent: str | Mapping[str, str] | None) -> context.Context | None:
    if not parent:
        return None
    carrier = {"traceparent": parent} if isinstance(parent, str) else dict(parent)
    return propagate.extract(carrier)


@contextlib.contextmanager
def span(
    name: str,
    *,
    parent: str | Mapping[str, str] | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, str | int | float | bool] | None = None,
) -> Iterator[Span]:
    """A span made current for the block: a child of ``parent`` (a ``traceparent`` or the
    headers of a message) when given, else of the current span."""
    with _tracer.start_as_current_span(
        name, context=_context(parent), kind=kind, attributes=attributes
    ) as current:
        yield current


def hop(name: str, parent: str | None, kind: SpanKind) -> contextlib.AbstractContextManager[Span]:
    """A span continuing a trace carried by a stored ``traceparent``; when there is none
    (tracing off, or a row written before it was on), nothing is recorded."""
    if not parent:
        return contextlib.nullcontext(trace.INVALID_SPAN)
    return span(name, parent=parent, kind=kind)
