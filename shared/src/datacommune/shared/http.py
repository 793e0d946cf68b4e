"""Pieces of the HTTP layer every service shares: the app factory's common part, bearer tokens."""

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from datacommune.shared import metrics, problems, tracing
from datacommune.shared.process.runtime import Runtime
from datacommune.shared.web import COOKIE


def make_app(
    *,
    service: str,
    description: str,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[Any]],
    measure: Callable[[], Awaitable[None]] | None = None,
) -> FastAPI:
    """A FastAPI app with the shared problem handlers, OpenAPI at ``/docs`` and Prometheus
    metrics at ``/metrics``; ``measure`` sets the service's own gauges at each scrape."""
    app = FastAPI(
        title=f"datacommune — {service}",
        description=description,
        version="0.1.0",
        lifespan=lifespan,
        responses=problems.PROBLEM_RESPONSES,
        # A stray trailing slash gets a 404 problem, not an empty redirect.
        redirect_slashes=False,
    )
    problems.install(app)
    # Inside the metrics: a HEAD is counted as a HEAD.
    app.add_middleware(HeadAsGet)
    app.add_middleware(metrics.HttpMetrics, service=service)
    tracing.instrument(app, service)

    async def refresh() -> None:
        # Before the lifespan has opened it there is no runtime, and nothing to read.
        runtime: Runtime | None = getattr(app.state, "runtime", None)
        if runtime is not None:
            await runtime.measure()
            if measure is not None:
                await measure()

    app.include_router(metrics.metrics_router(refresh))
    return app


class HeadAsGet:
    """HEAD wherever GET is (RFC 9110 §9.3.2), as HTTP tools expect: routed as a GET; the server
    (uvicorn, reading its own copy of the request) sends the headers and drops the body. A
    handler that would stream a file checks ``is_head`` to skip opening it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        routed = {**scope, "method": "GET", HEAD: True}
        try:
            await self.app(routed, receive, send)
        finally:
            # The metrics outside label the HEAD with the route it matched.
            if "route" in routed:
                scope["route"] = routed["route"]


HEAD = "datacommune.head"


def is_head(request: Request) -> bool:
    """Whether the request is a HEAD answered as a GET (``HeadAsGet``)."""
    return bool(request.scope.get(HEAD))


_bearer = HTTPBearer(
    auto_error=False,
    description="Le jeton de l'organisation / the organization's token (`dc_…`)",
)


def bearer_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The token of ``Authorization: Bearer …`` (for reading, also the pages' sign-in cookie,
    so a person can open a report the page links to); a 401 problem when there is none."""
    token = credentials.credentials.strip() if credentials else ""
    if not token and request.method in ("GET", "HEAD"):
        # Reading only: a write with the cookie must come from a form, with its checks.
        token = request.cookies.get(COOKIE, "").strip()
    if not token:
        raise problems.Unauthorized(
            "Ajoutez l'en-tête « Authorization: Bearer <jeton> » avec le jeton de votre "
            "organisation (donné par « datacommune org create »).",
            "Send the header 'Authorization: Bearer <token>' with your organization's token "
            "(given by 'datacommune org create').",
        )
    return token


def runtime(request: Request) -> Runtime:
    """The running service's adapters, set by its lifespan."""
    return request.app.state.runtime  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(runtime)]
Token = Annotated[str, Depends(bearer_token)]
