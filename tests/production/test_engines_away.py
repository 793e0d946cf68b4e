"""The engines behind the services go away and come back (an operator restarts PostgreSQL, the S3
server crashes): meanwhile every service answers 503 `backend-unavailable` with Retry-After,
never a 500 to report; once they are back, the same processes answer again."""

import time
from pathlib import Path

import httpx
import pytest

from datacommune.cli.platform import SERVICES, create_missing_databases
from tests.platform import running_platform
from tests.production import engines

pytestmark = pytest.mark.e2e


def test_postgresql_and_s3_away_answer_503_then_come_back(tmp_path: Path) -> None:
    if reason := engines.missing():
        pytest.skip(reason)
    with engines.postgres_server() as postgres, engines.s3_server() as s3:
        databases = {name: postgres.url(f"dc_{name}") for name in SERVICES}
        create_missing_databases(list(databases.values()))
        with running_platform(
            tmp_path, databases=databases, env=s3.server.env("datacommune")
        ) as hub:
            token = hub.organization("roques")
            accepted = hub.upload(token, b"id,nom\n1,a\n", dataset="essai")
            assert accepted.status_code == 202, accepted.text
            upload = accepted.json()["id"]
            status = hub.wait_status(token, upload, {"published"})
            download = status["download_url"]
            auth = {"Authorization": f"Bearer {token}"}
            reads = {
                "status": (hub.url("ingest") + f"/api/v1/uploads/{upload}", auth),
                "whoami": (hub.url("ingest") + "/api/v1/whoami", auth),
                "search": (hub.url("catalog") + "/api/v1/datasets?q=essai", {}),
                "home page": (hub.url("catalog") + "/", {}),
                "releases": (hub.url("events") + "/api/v1/releases", auth),
            }

            postgres.stop("fast")
            for what, (url, headers) in reads.items():
                _away(httpx.get(url, headers=headers), what)
            sent = httpx.post(
                hub.url("ingest") + "/api/v1/uploads",
                data={"dataset": "essai"},
                files={"file": ("b.csv", b"id\n2\n", "text/csv")},
                headers=auth,
            )
            _away(sent, "upload")
            postgres.start()
            for what, (url, headers) in reads.items():
                _back(url, headers, what)

            s3.kill()
            _away(httpx.get(download), "download")
            s3.start()
            _back(download, {}, "download")


def _away(answer: httpx.Response, what: str) -> None:
    assert answer.status_code == 503, f"{what}: {answer.status_code} {answer.text[:300]}"
    assert answer.headers["content-type"].startswith("application/problem+json"), what
    assert answer.json()["type"] == "/problems/backend-unavailable", what
    assert answer.headers["retry-after"] == "5", what


def _back(url: str, headers: dict[str, str], what: str, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while (code := httpx.get(url, headers=headers).status_code) != 200:
        assert time.monotonic() < deadline, f"{what} still {code} {within} s after the restart"
        time.sleep(0.2)
