"""Pieces of the HTTP layer every service shares: the app factory's common part, bearer tokens."""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request

from datacommune.shared import problems
from datacommune.shared.runtime import Runtime


def make_app(
    *,
    service: str,
    description: str,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[Any]],
) -> FastAPI:
    """A FastAPI app with the shared problem handlers and OpenAPI at ``/docs``."""
    app = FastAPI(
        title=f"datacommune — {service}",
        description=description,
        version="0.1.0",
        lifespan=lifespan,
    )
    problems.install(app)
    return app


def bearer_token(request: Request) -> str:
    """The token of ``Authorization: Bearer …``; raises a 401 problem when there is none."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise problems.Unauthorized(
            "Ajoutez l'en-tête « Authorization: Bearer <jeton> » avec le jeton de votre "
            "organisation (donné par « datacommune org create »).",
            "Send the header 'Authorization: Bearer <token>' with your organization's token "
            "(given by 'datacommune org create').",
        )
    return token.strip()


def runtime(request: Request) -> Runtime:
    """The running service's adapters, set by its lifespan."""
    return request.app.state.runtime  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(runtime)]
Token = Annotated[str, Depends(bearer_token)]
