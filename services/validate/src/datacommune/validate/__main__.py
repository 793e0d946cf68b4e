"""``python -m datacommune.validate``: migrate, then serve."""

from pathlib import Path

from datacommune.shared.process.serve import run
from datacommune.validate.app import create_app
from datacommune.validate.settings import Settings


def main() -> None:
    settings = Settings()
    run(create_app(settings), settings, migrations=Path(__file__).parent / "migrations")


if __name__ == "__main__":
    main()
