"""The production stack names every service and configures it only through known settings, in a
file Compose itself accepts."""

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from datacommune.catalog.settings import Settings as CatalogSettings
from datacommune.cli.platform import binary
from datacommune.events.settings import Settings as EventsSettings
from datacommune.ingest.settings import Settings as IngestSettings
from datacommune.shared import problems
from datacommune.validate.settings import Settings as ValidateSettings

ROOT = Path(__file__).resolve().parents[1]
SETTINGS: dict[str, type[BaseSettings]] = {
    "ingest": IngestSettings,
    "validate": ValidateSettings,
    "catalog": CatalogSettings,
    "events": EventsSettings,
}


def test_compose_runs_two_replicas_of_each_service_on_a_nats_cluster() -> None:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    replicas = {f"{name}-{n}" for name in SETTINGS for n in (1, 2)}
    assert {"nats-1", "nats-2", "nats-3", "postgres", "s3", "haproxy", *replicas} <= set(services)
    for replica in sorted(replicas):
        name = replica.rsplit("-", 1)[0]
        env = services[replica]["environment"]
        assert env["DATABASE__URL"].startswith("postgresql+asyncpg://")
        assert env["STORAGE__BACKEND"] == "s3"
        assert env["NATS__REPLICAS"] == "3"
        assert len(env["NATS__URL"].split(",")) == 3
        assert services[replica]["command"][-1] == f"datacommune.{name}"
        # Every variable is a setting of the service, or OpenTelemetry's own (read by its SDK).
        for key in (k for k in env if not k.startswith("OTEL_")):
            top = key.split("__")[0].lower()
            assert top in SETTINGS[name].model_fields, f"{replica}: {key} is not a setting"
    balanced = (ROOT / "deploy/haproxy/services.cfg").read_text()
    scraped = (ROOT / "deploy/prometheus/prometheus.yml").read_text()
    for replica in replicas:
        assert f"server {replica} {replica}:8080 check" in balanced
        assert f"- {replica}:8080" in scraped


def test_the_nats_cluster_and_haproxy_configurations_parse() -> None:
    """The servers' own checks: ``nats-server -t`` and ``haproxy -c``."""
    nats = subprocess.run(
        [binary("nats-server"), "-t", "-c", str(ROOT / "deploy/nats/cluster.conf")],
        capture_output=True,
        text=True,
        env={**os.environ, "SERVER_NAME": "nats-1"},
        check=False,
    )
    assert nats.returncode == 0, nats.stderr
    if shutil.which("haproxy") is None:
        if os.environ.get("CI"):
            pytest.fail("haproxy missing: .ci/run installs Debian's package")
        pytest.skip("no haproxy here (apt install haproxy)")
    haproxy = ROOT / "deploy/haproxy"
    checked = subprocess.run(
        ["haproxy", "-c", "-f", str(haproxy / "haproxy.cfg"), "-f", str(haproxy / "services.cfg")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("code", [502, 503, 504])
def test_the_balancer_answers_its_errors_as_problem_json(code: int) -> None:
    """HAProxy's own answers (every replica down, one dying mid-request, too slow) are the
    platform's problem JSON in French and English, whose type resolves on every service."""
    raw = (ROOT / f"deploy/haproxy/errors/{code}.http").read_bytes()
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    assert lines[0].startswith(f"HTTP/1.1 {code} ")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert headers["Content-Type"] == "application/problem+json"
    assert int(headers["Content-Length"]) == len(body)
    problem = json.loads(body)
    assert problem["status"] == code
    assert problems.KNOWN[problem["type"]][2] == code
    assert problem["detail"]
    assert problem["detail_en"]
    if code != 504:
        assert headers["Retry-After"] == "5"


def test_compose_itself_accepts_the_file() -> None:
    """Debian's docker-compose validates the file against the Compose schema it ships, with no
    engine (``config -q``); .ci/run installs it."""
    compose = shutil.which("docker-compose")
    if compose is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose missing: .ci/run installs Debian's package")
        pytest.skip("no docker-compose here (apt install docker-compose)")
    checked = subprocess.run(
        [compose, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        env={**os.environ, "DATACOMMUNE_ADMIN_TOKEN_HASH": "0" * 64},
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
