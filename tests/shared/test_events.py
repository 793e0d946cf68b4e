"""The event contracts: their committed JSON Schema, and decoding by type."""

import json
import uuid
from pathlib import Path

from datacommune.shared import events

SNAPSHOT = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "src"
    / "datacommune"
    / "shared"
    / "schemas"
    / "events.json"
)


def test_contracts_match_the_committed_schema() -> None:
    current = events.any_event.json_schema()
    committed = json.loads(SNAPSHOT.read_text())
    assert current == committed, (
        "An event contract changed: review the change, then regenerate with "
        "`python -m datacommune.shared.schemas` and commit shared/.../schemas/events.json"
    )


def test_every_type_is_versioned_and_is_its_subject() -> None:
    for type_ in events.event_types():
        assert type_.rsplit(".", 1)[-1].startswith("v"), type_


def test_round_trip_and_unknown_fields_are_ignored() -> None:
    event = events.FileValidationStarted(source="validate", upload_id=uuid.uuid4())
    data = json.loads(event.model_dump_json())
    data["added_later"] = "a newer producer's optional field"
    parsed = events.parse(json.dumps(data))
    assert parsed == event
