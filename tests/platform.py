"""The four services as real processes over a real nats-server, as `datacommune up` runs them."""

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from datacommune.cli.platform import SERVICES, Platform
from datacommune.shared import tokens
from tests import servers

ADMIN = "dcadmin_test-admin-token"
# The session's running platforms (tests/conftest.py), by the engine a test is run on.
SESSION_PLATFORMS = {"sqlite": "embedded", "postgresql": "on_postgres"}


@dataclass
class Running:
    """A started platform and the calls tests make against it."""

    platform: Platform
    # A connection idle for 2 s is not reused: the services close theirs after 5 s
    # (HTTP__KEEP_ALIVE_TIMEOUT), httpx's default keeps them 5 s, and a request sent on one the
    # server was closing got « Server disconnected without sending a response ».
    client: httpx.Client = field(
        default_factory=lambda: httpx.Client(timeout=30, limits=httpx.Limits(keepalive_expiry=2.0))
    )

    def url(self, service: str) -> str:
        return self.platform.url(service)

    def organization(self, slug: str, *, kind: str = "commune", parent: str | None = None) -> str:
        """Register an organization and wait until ingest and events accept its token."""
        response = self.client.post(
            self.url("catalog") + "/api/v1/organizations",
            json={"slug": slug, "name": slug.title(), "kind": kind, "parent": parent},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        assert response.status_code == 201, response.text
        token: str = response.json()["token"]
        for service, path in (("ingest", "/api/v1/whoami"), ("events", "/api/v1/local-events")):
            self._wait(lambda s=service, p=path: self._known(s, p, token))
        return token

    def _known(self, service: str, path: str, token: str) -> bool:
        if service == "events":
            # events has no whoami: a PATCH of an unknown id answers 404 once the token is known.
            response = self.client.patch(
                self.url("events") + path + "/00000000-0000-0000-0000-000000000000",
                json={},
                headers={"Authorization": f"Bearer {token}"},
            )
            return response.status_code == 404
        response = self.client.get(
            self.url(service) + path, headers={"Authorization": f"Bearer {token}"}
        )
        return response.status_code == 200

    def upload(
        self,
        token: str | None,
        content: bytes,
        *,
        dataset: str,
        filename: str = "data.csv",
        schema: str | None = None,
        title: str | None = None,
    ) -> httpx.Response:
        data = {"dataset": dataset}
        if schema:
            data["schema"] = schema
        if title:
            data["title"] = title
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.post(
            self.url("ingest") + "/api/v1/uploads",
            data=data,
            files={"file": (filename, content, "text/csv")},
            headers=headers,
        )

    def status(self, token: str, upload_id: str) -> dict[str, Any]:
        response = self.client.get(
            self.url("ingest") + f"/api/v1/uploads/{upload_id}",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def wait_status(
        self, token: str, upload_id: str, wanted: set[str], timeout: float = 30
    ) -> dict[str, Any]:
        body: dict[str, Any] = {}

        def reached() -> bool:
            nonlocal body
            body = self.status(token, upload_id)
            return body["status"] in wanted

        self._wait(reached, timeout)
        return body

    def count(self, service: str, sql: str) -> int:
        """One number read from a service's own database (a test's look behind the API)."""
        url = self.platform.databases.get(
            service, f"sqlite+aiosqlite:///{self.platform.var / f'{service}.db'}"
        )
        return self.count_at(url, sql)

    @staticmethod
    def count_at(url: str, sql: str) -> int:
        """One number read from the database at ``url``."""
        from sqlalchemy import text

        from datacommune.shared.db import make_engine
        from datacommune.shared.settings import DatabaseSettings

        found = 0

        async def read() -> None:
            nonlocal found
            engine = make_engine(DatabaseSettings(url=url))
            try:
                async with engine.connect() as conn:
                    found = int((await conn.execute(text(sql))).scalar_one())
            finally:
                await engine.dispose()

        servers._run(read)
        return found

    @staticmethod
    def _wait(condition: Any, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("condition not reached")
            time.sleep(0.05)


@contextlib.contextmanager
def running_platform(
    var: Path,
    *,
    databases: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    per_service_env: dict[str, dict[str, str]] | None = None,
    nats_url: str | None = None,
    leaf_port: int | None = None,
    ports: dict[str, int] | None = None,
) -> Iterator[Running]:
    """Start nats-server and the four services on free ports (or ``ports``); stop them all
    afterwards."""
    extra = per_service_env or {}
    extra.setdefault("catalog", {})["ADMIN_TOKEN_HASH"] = tokens.hash_token(ADMIN)
    # Tests receive webhooks on 127.0.0.1.
    extra["catalog"].setdefault("ALLOW_PRIVATE_WEBHOOKS", "true")
    extra["catalog"].setdefault("ALLOW_PRIVATE_HARVEST", "true")
    platform = Platform(
        var=var,
        ports=ports or {name: servers.free_port() for name in (*SERVICES, "nats")},
        databases=databases or {},
        env=env or {},
        per_service_env=extra,
        quiet=True,
        nats_url=nats_url,
        leaf_port=leaf_port,
    )
    running = None
    try:
        platform.start(timeout=60)
        running = Running(platform)
        yield running
    except BaseException:
        for log in sorted((var / "logs").glob("*.log")):
            print(f"==== {log.name}\n{log.read_text()[-4000:]}")  # noqa: T201 - shown on failure
        raise
    finally:
        # Closed on failure too: a client left to the garbage collector warns in a later test.
        if running is not None:
            running.client.close()
        platform.stop()


MAX_UPLOAD = 1024 * 1024


def csv_rows(n: int, seed: str) -> bytes:
    """A CSV of ``n`` rows, distinct for each seed."""
    lines = ["id,commune,montant,date"]
    lines += [f"{i},{seed}-{i},{i * 10.5:.2f},2025-01-{1 + i % 28:02d}" for i in range(n)]
    return ("\n".join(lines) + "\n").encode()


def session_platform(request: pytest.FixtureRequest) -> "Running":
    """The session's running platform on the engine ``request.param`` names."""
    running: Running = request.getfixturevalue(SESSION_PLATFORMS[request.param])
    return running
