"""events' settings, read from the environment (``NATS__URL``, ``DATABASE__URL``, …)."""

from pydantic_settings import BaseSettings, SettingsConfigDict

from datacommune.shared.settings import (
    DatabaseSettings,
    HttpSettings,
    NatsSettings,
    StorageSettings,
)


class Settings(BaseSettings):
    """Everything events needs to run; defaults are the embedded platform's."""

    model_config = SettingsConfigDict(env_nested_delimiter="__", extra="ignore")

    http: HttpSettings = HttpSettings(port=8084, public_url="http://127.0.0.1:8084")
    nats: NatsSettings = NatsSettings()
    database: DatabaseSettings = DatabaseSettings(url="sqlite+aiosqlite:///var/events.db")
    storage: StorageSettings = StorageSettings()
    source: str = "events"
