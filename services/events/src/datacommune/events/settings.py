"""events' settings, read from the environment (``NATS__URL``, ``DATABASE__URL``, …)."""

from datacommune.shared.settings import DatabaseSettings, HttpSettings, ServiceSettings


class Settings(ServiceSettings):
    """Everything events needs to run; defaults are the embedded platform's."""

    http: HttpSettings = HttpSettings(port=8084, public_url="http://127.0.0.1:8084")
    database: DatabaseSettings = DatabaseSettings(url="sqlite+aiosqlite:///var/events.db")
    source: str = "events"
    # Import calendar feeds from private or loopback addresses too (never on a public server:
    # anyone with a token could make events read the internal network).
    allow_private_feeds: bool = False
