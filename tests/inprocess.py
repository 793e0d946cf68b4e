"""A service's app served in this process through httpx's ASGI transport, its lifespan run as
uvicorn runs it: a route is tested over HTTP without starting the four-process platform.

The app still talks to real parts: a migrated database of its own, the session's nats-server
and a local object store (what the embedded platform runs on).
"""

import contextlib
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI


@contextlib.asynccontextmanager
async def serving(app: FastAPI, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app``, between its start-up and its shut-down."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client
