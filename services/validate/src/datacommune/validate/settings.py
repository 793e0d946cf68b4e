"""validate's settings, read from the environment (``NATS__URL``, ``SCHEMAS_DIRS``, …)."""

from pathlib import Path

from pydantic import Field

from datacommune.shared.settings import DatabaseSettings, HttpSettings, ServiceSettings
from datacommune.validate.registry import BUILTIN


class Settings(ServiceSettings):
    """Everything validate needs to run; defaults are the embedded platform's."""

    http: HttpSettings = HttpSettings(port=8082, public_url="http://127.0.0.1:8082")
    database: DatabaseSettings = DatabaseSettings(url="sqlite+aiosqlite:///var/validate.db")
    schemas_dirs: list[Path] = Field(default_factory=lambda: [BUILTIN])
    # Catalogues in schema.data.gouv.fr's format, and where their https:// files were mirrored.
    schemas_catalogues: list[Path] = Field(default_factory=list)
    schemas_mirror: Path | None = None
    work_dir: Path = Path("var/work")
    # Files checked at once; frictionless is CPU-bound, so about one per core.
    concurrency: int = Field(default=2, ge=1)
    # Seconds before an unacknowledged file goes to another worker. Short, because a worker
    # that is alive says so every third of it; only a dead one lets it run out.
    ack_wait: float = Field(default=10, gt=1)
    source: str = "validate"
