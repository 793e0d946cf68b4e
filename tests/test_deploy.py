"""The production stack names every service and configures it only through known settings, in a
file Compose itself accepts."""

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from datacommune.catalog.settings import Settings as CatalogSettings
from datacommune.events.settings import Settings as EventsSettings
from datacommune.ingest.settings import Settings as IngestSettings
from datacommune.validate.settings import Settings as ValidateSettings

ROOT = Path(__file__).resolve().parents[1]
SETTINGS: dict[str, type[BaseSettings]] = {
    "ingest": IngestSettings,
    "validate": ValidateSettings,
    "catalog": CatalogSettings,
    "events": EventsSettings,
}


def test_compose_runs_the_four_services_on_postgres_nats_and_s3() -> None:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"nats", "postgres", "s3", *SETTINGS} <= set(services)
    for name, settings in SETTINGS.items():
        env = services[name]["environment"]
        assert env["DATABASE__URL"].startswith("postgresql+asyncpg://")
        assert env["STORAGE__BACKEND"] == "s3"
        assert services[name]["command"][-1] == f"datacommune.{name}"
        for key in env:
            top = key.split("__")[0].lower()
            assert top in settings.model_fields, f"{name}: {key} is not a setting"


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
