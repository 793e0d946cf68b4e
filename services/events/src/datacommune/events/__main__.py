"""``python -m datacommune.events``: migrate, then serve."""

from pathlib import Path

from datacommune.events.app import create_app
from datacommune.events.settings import Settings
from datacommune.shared.process.serve import run


def main() -> None:
    settings = Settings()
    run(create_app(settings), settings, migrations=Path(__file__).parent / "migrations")


if __name__ == "__main__":
    main()
