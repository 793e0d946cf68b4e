"""The production stack names every service and configures it only through known settings."""

from pathlib import Path
from typing import Any

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
