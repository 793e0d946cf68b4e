"""What a request must respect before it reaches a service: the size and count of its headers,
the time its head and body take, and how many connections and requests one client may have.

Two pieces, both started by ``serve.run`` for every service:

- ``protocol(settings)``: uvicorn's h11 protocol with limits. h11 itself refuses a request head
  (request line and headers) past ``max_header_bytes`` without buffering more than that; we
  answer it with 431 instead of h11's plain 400. httptools, which uvicorn prefers when it is
  installed, buffers a header of any size (a 64 MiB one was accepted), so it is not used. The
  protocol also cuts a head that takes longer than ``head_timeout`` (408), a body that
  trickles slower than ``min_body_rate`` (408), and connections past ``max_connections`` in all
  or ``max_connections_per_client`` from one address (503), before any of them costs a task.
- ``Guard``: an ASGI layer that refuses more than ``max_headers`` headers (431) and more than
  ``requests_per_second`` (with bursts of ``request_burst``) from one client address (429).
  It sits inside uvicorn's proxy-headers layer, so behind a trusted proxy the client is the
  one the proxy names.

Every refusal is a problem (``application/problem+json``) in French and English.
"""

import asyncio
import time
from collections import Counter
from typing import Any, ClassVar

import h11
import structlog
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from datacommune.shared import problems
from datacommune.shared.settings import HttpSettings

log = structlog.get_logger()


class HeaderTooLarge(problems.Problem):
    type = "/problems/header-too-large"
    title = "En-têtes trop volumineux"
    title_en = "Request header fields too large"
    status = 431


class RequestTimeout(problems.Problem):
    type = "/problems/request-timeout"
    title = "Requête trop lente"
    title_en = "Request timeout"
    status = 408


class TooManyConnections(problems.Problem):
    type = "/problems/too-many-connections"
    title = "Trop de connexions"
    title_en = "Too many connections"
    status = 503


_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large", 503: b"Unavailable"}


def _raw(problem: problems.Problem) -> bytes:
    """A whole HTTP/1.1 answer carrying ``problem``, for the protocol to write before closing."""
    body = problems.problem_response(problem.body()).body
    head = [
        b"HTTP/1.1 %d %s" % (problem.status, _REASONS[problem.status]),
        b"content-type: " + problems.MEDIA_TYPE.encode(),
        b"content-length: %d" % len(body),
        b"connection: close",
    ]
    head += [f"{name}: {value}".encode("latin-1") for name, value in problem.headers.items()]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


class GuardedProtocol(H11Protocol):
    """uvicorn's h11 protocol, with limits on heads, slow clients and connections."""

    limits: ClassVar[HttpSettings]
    # Open connections per client address, shared by every connection of this process.
    per_client: ClassVar[Counter[str]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: asyncio.TimerHandle | None = None
        # The request the timer watches (the cycle before a head, the cycle of a body).
        self._watched: object = None
        self._window_bytes = 0
        self._address: str | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        limits = self.limits
        if self.client:
            self._address = self.client[0]
            self.per_client[self._address] += 1
        if len(self.connections) > limits.max_connections:
            self._refuse(_busy(f"{limits.max_connections} connexions", "connections in all"))
        elif self._address and self.per_client[self._address] > limits.max_connections_per_client:
            self._refuse(
                _busy(
                    f"{limits.max_connections_per_client} connexions depuis votre adresse",
                    "connections from your address",
                    limits.max_connections_per_client,
                )
            )
        else:
            # A connection that never sends a whole head is closed like a slow one.
            self._watch_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_watching()
        if self._address is not None:
            self.per_client[self._address] -= 1
            if self.per_client[self._address] <= 0:
                del self.per_client[self._address]
            self._address = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing():
            return
        state = self.conn.their_state
        if state is h11.IDLE:
            # Part of a head: its deadline runs from its first byte, however it trickles.
            if self._watched is not self.cycle or self._timer is None:
                self._watch_head()
        elif state is h11.SEND_BODY:
            if self._watched is not self.cycle or self._timer is None:
                self._watch_body()
            self._window_bytes += len(data)
        else:
            self._stop_watching()

    def send_400_response(self, msg: str) -> None:
        # h11 refuses a head over its max_incomplete_event_size with a plain 400; say 431.
        if len(self.conn.trailing_data[0]) > self.limits.max_header_bytes:
            limit = self.limits.max_header_bytes
            self._refuse(
                HeaderTooLarge(
                    f"La ligne de requête et les en-têtes dépassent {limit} octets : "
                    "raccourcissez-les (un cookie ou un en-tête trop long ?).",
                    f"The request line and headers exceed {limit} bytes: shorten them "
                    "(a cookie or a header too long?).",
                    limit_bytes=limit,
                )
            )
            return
        super().send_400_response(msg)

    def _watch_head(self) -> None:
        self._arm(self.limits.head_timeout, self._head_too_slow)

    def _watch_body(self) -> None:
        self._window_bytes = 0
        self._arm(self.limits.body_rate_window, self._body_window_over)

    def _arm(self, delay: float, callback: Any) -> None:
        self._stop_watching()
        self._watched = self.cycle
        self._timer = self.loop.call_later(delay, callback)

    def _stop_watching(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._watched = None

    def _head_too_slow(self) -> None:
        self._timer = None
        if self.transport.is_closing() or self._watched is not self.cycle:
            return
        if self.conn.their_state is not h11.IDLE:
            return
        if not self.conn.trailing_data[0]:
            # Nothing sent at all (or between two requests: the keep-alive timer's business).
            if self.cycle is None:
                self.transport.close()
            return
        seconds = self.limits.head_timeout
        self._refuse(
            RequestTimeout(
                f"Les en-têtes de la requête ne sont pas arrivés en entier en {seconds:g} s.",
                f"The request headers did not arrive in full within {seconds:g} s.",
            )
        )

    def _body_window_over(self) -> None:
        self._timer = None
        if self.transport.is_closing() or self._watched is not self.cycle:
            return
        if self.conn.their_state is not h11.SEND_BODY:
            return
        window, rate = self.limits.body_rate_window, self.limits.min_body_rate
        # While uvicorn holds reading back (the application is slow to read), or the client
        # waits for our « 100 Continue », the client is not the one to blame.
        waiting = self.flow.read_paused or (self.cycle and self.cycle.waiting_for_100_continue)
        if not waiting and self._window_bytes < rate * window:
            self._refuse(
                RequestTimeout(
                    f"Le corps de la requête arrive trop lentement (moins de {rate} octets/s "
                    f"pendant {window:g} s).",
                    f"The request body arrives too slowly (under {rate} bytes/s for {window:g} s).",
                )
            )
            return
        self._watch_body()

    def _refuse(self, problem: problems.Problem) -> None:
        """Answer ``problem`` (unless an answer has begun) and close the connection."""
        self._stop_watching()
        if self.cycle is None or not self.cycle.response_started:
            self.transport.write(_raw(problem))
        if self.cycle is not None:
            # The application, if it runs, reads a disconnect and writes nothing after us.
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        log.warning(
            "request_refused", status=problem.status, problem=problem.type, client=self.client
        )
        self.transport.close()


def _busy(fr: str, en: str, limit: int | None = None) -> TooManyConnections:
    problem = TooManyConnections(
        f"Le service a déjà {fr} : réessayez dans un instant.",
        f"The service already has its maximum of {en}: retry in a moment."
        + (f" (at most {limit})" if limit else ""),
    )
    problem.headers["Retry-After"] = "1"
    return problem


def protocol(settings: HttpSettings) -> type[GuardedProtocol]:
    """The protocol class uvicorn is given, bound to these limits."""
    return type(
        "GuardedProtocol",
        (GuardedProtocol,),
        {"limits": settings, "per_client": Counter()},
    )


class _Buckets:
    """A token bucket per client: ``rate`` requests a second, up to ``burst`` at once."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, client: str) -> float:
        """Count one request; 0 when it may go, else the seconds until it could."""
        now = time.monotonic()
        tokens, then = self._buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens < 1:
            self._buckets[client] = (tokens, now)
            return (1 - tokens) / self.rate
        self._buckets[client] = (tokens - 1, now)
        if len(self._buckets) > 100_000:
            # Forget clients whose bucket has filled up again rather than grow without end.
            full = self.burst / self.rate
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full}
        return 0.0


class Guard:
    """The ASGI side of the limits: header count and requests per client."""

    def __init__(self, app: ASGIApp, settings: HttpSettings) -> None:
        self.app = app
        self.settings = settings
        self._buckets = (
            _Buckets(settings.requests_per_second, settings.request_burst)
            if settings.requests_per_second > 0
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = self._refusal(scope)
            if problem is not None:
                path = scope.get("path")
                response = problems.problem_response(problem.body(path), problem.headers)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope) -> problems.Problem | None:
        limit = self.settings.max_headers
        if len(scope["headers"]) > limit:
            return HeaderTooLarge(
                f"La requête a plus de {limit} en-têtes.",
                f"The request has more than {limit} headers.",
                limit_headers=limit,
            )
        client = scope.get("client")
        if self._buckets is not None and client:
            wait = self._buckets.take(client[0])
            if wait:
                seconds = max(1, round(wait + 0.5))
                problem = problems.TooManyRequests(
                    f"Trop de requêtes depuis cette adresse : réessayez dans {seconds} s.",
                    f"Too many requests from this address: retry in {seconds} s.",
                )
                problem.headers["Retry-After"] = str(seconds)
                return problem
        return None
