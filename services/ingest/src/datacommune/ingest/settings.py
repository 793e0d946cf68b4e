"""ingest's settings, read from the environment (``HTTP__PORT``, ``NATS__URL``, …)."""

from pathlib import Path

from pydantic import Field

from datacommune.shared.settings import DatabaseSettings, HttpSettings, ServiceSettings


class Settings(ServiceSettings):
    """Everything ingest needs to run; defaults are the embedded platform's."""

    http: HttpSettings = HttpSettings(port=8081, public_url="http://127.0.0.1:8081")
    database: DatabaseSettings = DatabaseSettings(url="sqlite+aiosqlite:///var/ingest.db")
    # Where uploads are staged while they stream in; on the same disk as local storage.
    staging_dir: Path = Path("var/staging")
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    source: str = "ingest"
