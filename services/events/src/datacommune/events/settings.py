"""events' settings, read from the environment (``NATS__URL``, ``DATABASE__URL``, …)."""

from datacommune.shared.settings import DatabaseSettings, HttpSettings, ServiceSettings


class Settings(ServiceSettings):
    """Everything events needs to run; defaults are the embedded platform's."""

    http: HttpSettings = HttpSettings(port=8084, public_url="http://127.0.0.1:8084")
    database: DatabaseSettings = DatabaseSettings(url="sqlite+aiosqlite:///var/events.db")
    source: str = "events"
