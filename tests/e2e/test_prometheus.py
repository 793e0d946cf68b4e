"""A real Prometheus (Debian's package, as an operator installs it) scrapes the four services
and loads the alert rules of deploy/prometheus: the metrics are what it reads, not only text
that looks right."""

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests import servers
from tests.platform import Running

pytestmark = pytest.mark.e2e

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"
SERVICES = ("ingest", "validate", "catalog", "events")


def query(base: str, promql: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{base}/api/v1/query", params={"query": promql}, timeout=10)
    # A Prometheus still opening its storage answers 503 in plain text: an HTTPError, retried.
    response.raise_for_status()
    answer = response.json()
    assert answer["status"] == "success", answer
    return list(answer["data"]["result"])


def test_prometheus_scrapes_every_service_and_evaluates_the_rules(
    embedded: Running, tmp_path: Path
) -> None:
    binary = shutil.which("prometheus")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("prometheus missing: .ci/run installs Debian's prometheus package")
        pytest.skip("no prometheus here (apt install prometheus)")
    targets = [embedded.url(s).removeprefix("http://") for s in SERVICES]
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{"job_name": "datacommune", "static_configs": [{"targets": targets}]}],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = servers.free_port()
    base = f"http://127.0.0.1:{port}"
    with (tmp_path / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        up: list[dict[str, Any]] = []
        requests: list[dict[str, Any]] = []
        rules: list[dict[str, Any]] = []
        while True:
            try:
                up = query(base, 'up{job="datacommune"}')
                requests = query(base, "sum by (service) (datacommune_http_requests_total)")
                listed = httpx.get(f"{base}/api/v1/rules", timeout=10).raise_for_status()
                rules = listed.json()["data"]["groups"]
                evaluated = [r for g in rules for r in g["rules"] if r.get("health") == "ok"]
                if len(up) == 4 and len(requests) == 4 and len(evaluated) == 10:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, (tmp_path / "prometheus.log").read_text()
            assert time.monotonic() < deadline, (up, requests, rules)
            time.sleep(0.5)
        assert {r["value"][1] for r in up} == {"1"}
        assert {r["metric"]["service"] for r in requests} == set(SERVICES)
        # Read from each database at every scrape: present for all four, nothing stuck.
        backlog = query(base, "datacommune_outbox_oldest_seconds")
        assert {r["metric"]["service"] for r in backlog} == set(SERVICES)
        firing = httpx.get(f"{base}/api/v1/alerts", timeout=10).json()["data"]["alerts"]
        assert [a for a in firing if a["state"] == "firing"] == []
    finally:
        process.terminate()
        process.wait(timeout=30)
