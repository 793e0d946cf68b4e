"""/metrics: requests counted under their route's template, and alert rules that name only
metrics the platform has (docs/operations.md)."""

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from fastapi import FastAPI
from prometheus_client import REGISTRY

from datacommune.shared import metrics
from datacommune.shared.http import make_app
from tests.inprocess import serving

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def an_app() -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield

    app = make_app(service="essai", description="", lifespan=lifespan)

    @app.get("/things/{thing_id}")
    async def thing(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    return app


async def test_requests_are_counted_by_route_template_and_status() -> None:
    route = {"service": "essai", "route": "/things/{thing_id}", "method": "GET"}
    before_ok = sample("datacommune_http_requests_total", **route, status="200")
    before_bad = sample("datacommune_http_requests_total", **route, status="422")
    before_none = sample(
        "datacommune_http_requests_total",
        service="essai",
        route="(unmatched)",
        method="GET",
        status="404",
    )
    async with serving(an_app(), "http://essai.test") as client:
        for thing in (1, 2, 3):
            assert (await client.get(f"/things/{thing}")).status_code == 200
        assert (await client.get("/things/pas-un-nombre")).status_code == 422
        assert (await client.get("/nulle-part")).status_code == 404
        page = await client.get("/metrics")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/plain")
    assert sample("datacommune_http_requests_total", **route, status="200") == before_ok + 3
    assert sample("datacommune_http_requests_total", **route, status="422") == before_bad + 1
    unmatched = sample(
        "datacommune_http_requests_total",
        service="essai",
        route="(unmatched)",
        method="GET",
        status="404",
    )
    assert unmatched == before_none + 1
    # One series per route, never one per id.
    assert 'route="/things/1"' not in page.text
    assert 'datacommune_http_request_duration_seconds_bucket{le="0.005",method="GET"' in page.text


def test_every_metric_an_alert_names_exists() -> None:
    known = {m.name for m in REGISTRY.collect() if m.name.startswith("datacommune_")} | {"up"}
    suffixes = re.compile(r"_(total|bucket|sum|count|created)$")
    rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    assert rules
    for rule in rules:
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert set(rule["annotations"]) == {"summary", "description"}
        assert " / " in rule["annotations"]["description"], "French, then English"
        for name in re.findall(r"\b(datacommune_[a-z_]+|up)\b", rule["expr"]):
            assert suffixes.sub("", name) in known, f"{rule['alert']}: {name}"
    assert {m for m in dir(metrics) if m.isupper()} >= {"HTTP_REQUESTS", "OUTBOX_BACKLOG"}


def test_prometheus_own_checker_accepts_the_configuration_and_rules() -> None:
    """promtool (Debian's prometheus package; .ci/run installs it) accepts the compose stack's
    Prometheus configuration and parses every expression of the rules it loads."""
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI"):
            pytest.fail("promtool missing: .ci/run installs Debian's prometheus package")
        pytest.skip("no promtool here (apt install prometheus)")
    # The compose stack's configuration, which loads the rules beside it.
    config = RULES.with_name("prometheus.yml")
    checked = subprocess.run(
        [promtool, "check", "config", str(config)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    rules = len(yaml.safe_load(RULES.read_text())["groups"][0]["rules"])
    assert f"SUCCESS: {rules} rules found" in checked.stdout
