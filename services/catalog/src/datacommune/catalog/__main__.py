"""``python -m datacommune.catalog``: migrate, then serve."""

from pathlib import Path

from datacommune.catalog.app import create_app
from datacommune.catalog.settings import Settings
from datacommune.shared.process.serve import run


def main() -> None:
    settings = Settings()
    run(create_app(settings), settings, migrations=Path(__file__).parent / "migrations")


if __name__ == "__main__":
    main()
