"""catalog's settings, read from the environment (``ADMIN_TOKEN_HASH``, ``NATS__URL``, …)."""

from pydantic_settings import BaseSettings, SettingsConfigDict

from datacommune.shared.settings import (
    DatabaseSettings,
    HttpSettings,
    NatsSettings,
    StorageSettings,
)


class Settings(BaseSettings):
    """Everything catalog needs to run; defaults are the embedded platform's."""

    model_config = SettingsConfigDict(env_nested_delimiter="__", extra="ignore")

    http: HttpSettings = HttpSettings(port=8083, public_url="http://127.0.0.1:8083")
    nats: NatsSettings = NatsSettings()
    database: DatabaseSettings = DatabaseSettings(url="sqlite+aiosqlite:///var/catalog.db")
    storage: StorageSettings = StorageSettings()
    # SHA-256 of the platform administrator's token; empty disables organization creation.
    admin_token_hash: str = ""
    source: str = "catalog"
