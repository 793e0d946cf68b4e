"""catalog served in this process (tests/inprocess.py): the settings its route tests share."""

from pathlib import Path
from typing import Any

from datacommune.catalog.settings import Settings
from datacommune.shared import tokens
from datacommune.shared.settings import (
    DatabaseSettings,
    HttpSettings,
    NatsSettings,
    StorageSettings,
)

ADMIN = "admin-token-of-the-platform"
PUBLIC_URL = "http://catalog.test"


def settings(database_url: str, nats_url: str, folder: Path, **extra: Any) -> Settings:
    """catalog on ``database_url`` and ``nats_url``, its files and rows under ``folder``, the
    platform administrator's token ``ADMIN``."""
    return Settings(
        http=HttpSettings(public_url=PUBLIC_URL),
        nats=NatsSettings(url=nats_url),
        database=DatabaseSettings(url=database_url),
        storage=StorageSettings(root=folder / "files"),
        rows_dir=str(folder / "rows"),
        admin_token_hash=tokens.hash_token(ADMIN),
        # One process per app served in a test: the pooler as a task of it, unless asked.
        **{"pooler_process": False, **extra},
    )
