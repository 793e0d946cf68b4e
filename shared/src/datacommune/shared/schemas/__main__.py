"""Regenerate ``events.json`` after a reviewed contract change."""

import json
from pathlib import Path

from datacommune.shared.events import any_event

if __name__ == "__main__":
    path = Path(__file__).parent / "events.json"
    path.write_text(json.dumps(any_event.json_schema(), indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {path}")  # noqa: T201
