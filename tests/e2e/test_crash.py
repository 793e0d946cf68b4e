"""Nothing lost, nothing twice: validate is SIGKILLed with 50 uploads in flight."""

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.platform import csv_rows, running_platform

UPLOADS = 50


@pytest.mark.e2e
def test_validate_killed_mid_flight_loses_and_doubles_nothing(tmp_path: Path) -> None:
    with running_platform(tmp_path) as running:
        token = running.organization("roques")

        def post(i: int) -> str:
            response = running.upload(
                token, csv_rows(100, f"r{i}"), dataset="releves", filename=f"releve-{i:02d}.csv"
            )
            assert response.status_code == 202, response.text
            upload_id: str = response.json()["id"]
            return upload_id

        with ThreadPoolExecutor(max_workers=8) as pool:
            first = list(pool.map(post, range(10)))
            running.platform.kill("validate")  # SIGKILL, as a crash would
            rest = list(pool.map(post, range(10, UPLOADS)))
        ids = first + rest
        statuses = [running.status(token, i)["status"] for i in ids]
        assert statuses.count("published") < UPLOADS, "the kill must happen with work in flight"

        time.sleep(1)
        running.platform.start_service("validate")
        running.platform.wait_ready("validate")
        for upload_id in ids:
            assert running.wait_status(token, upload_id, {"published"}, timeout=60)

        dataset = httpx.get(running.url("catalog") + "/api/v1/datasets/releves").json()
        versions = [v for r in dataset["resources"] for v in r["versions"]]
        assert len(dataset["resources"]) == UPLOADS
        assert len(versions) == UPLOADS
        assert len({v["sha256"] for v in versions}) == UPLOADS
