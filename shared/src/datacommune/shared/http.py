"""Pieces of the HTTP layer every service shares: the app factory's common part, bearer tokens."""

import re
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from datacommune.shared import metrics, problems, tracing
from datacommune.shared.process.runtime import Runtime
from datacommune.shared.web import COOKIE

# What the OpenAPI documents say of answers that are files or text rather than JSON.
TEXT: dict[str, Any] = {"schema": {"type": "string"}}
BINARY: dict[str, Any] = {"schema": {"type": "string", "format": "binary"}}
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Le fichier / the file", "content": {"*/*": BINARY}},
    206: {"description": "Une partie (Range) / a part (Range)", "content": {"*/*": BINARY}},
    304: {"description": "Inchangé (If-None-Match) / not modified"},
}


def make_app(
    *,
    service: str,
    description: str,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[Any]],
    measure: Callable[[], Awaitable[None]] | None = None,
) -> FastAPI:
    """A FastAPI app with the shared problem handlers, OpenAPI at ``/docs`` and Prometheus
    metrics at ``/metrics``; ``measure`` sets the service's own gauges at each scrape."""
    # Swagger UI and ReDoc from their copies in fastapi-offline, not a CDN: /docs works on a
    # town-hall PC without internet, and no third party learns who reads the API.
    app = FastAPIOffline(
        generate_unique_id_function=operation_ids(),
        title=f"datacommune — {service}",
        description=description,
        version="0.1.0",
        lifespan=lifespan,
        responses=problems.PROBLEM_RESPONSES,
        # A stray trailing slash gets a 404 problem, not an empty redirect.
        redirect_slashes=False,
    )
    problems.install(app)
    app.add_middleware(DocsPolicy)
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


class DocsPolicy:
    """The documentation pages load nothing from elsewhere: ReDoc's bundle still links its
    logo on a CDN, which this Content-Security-Policy keeps the browser from fetching."""

    POLICY = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; font-src 'self' data:"
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in ("/docs", "/redoc"):
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"content-security-policy", self.POLICY.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)


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


def operation_ids() -> Callable[[APIRoute], str]:
    """Readable, unique operation ids, as generated clients name their methods:
    ``<what>_<action>`` from the path and the handler (``uploads_create``,
    ``versions_download``, ``ckan_package_show``), the method added where a path takes two."""
    seen: set[str] = set()

    def name(route: APIRoute) -> str:
        path = route.path_format
        if path.startswith("/api/3/action/"):
            group, alias = "ckan", ""
        elif path.startswith("/api/action/"):
            group, alias = "ckan", "_alias"  # CKAN's unversioned address of the same action
        else:
            parts = [p for p in path.split("/") if p and not p.startswith("{")]
            if parts[:2] == ["api", "v1"]:
                parts = parts[2:]
            group = re.sub(r"[^a-z0-9]+", "_", parts[0].split(".")[0].lower()) if parts else "site"
            alias = ""
        action = route.name
        found = action if group.rstrip("s") in action else f"{group}_{action}"
        found += alias
        if found in seen:
            found += "_" + "_".join(sorted(m.lower() for m in route.methods or ()))
        while found in seen:
            found += "_"
        seen.add(found)
        return found

    return name


_bearer = HTTPBearer(
    auto_error=False,
    description="Le jeton de l'organisation / the organization's token (`dc_…`)",
)


async def bearer_token(
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


async def runtime(request: Request) -> Runtime:
    """The running service's adapters, set by its lifespan.

    (Dependencies that only read the app's state are ``async``: FastAPI runs a plain ``def``
    in a worker thread, a hop to a thread and back on every request.)"""
    return request.app.state.runtime  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(runtime)]
Token = Annotated[str, Depends(bearer_token)]
