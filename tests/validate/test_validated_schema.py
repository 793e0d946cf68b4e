"""A schema's descriptor is validated once per process, and its copies are frictionless's."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from frictionless import FrictionlessException, Schema

from datacommune.validate.registry import load_entry
from datacommune.validate.reports import report as reports
from datacommune.validate.reports.validated_schema import ValidatedSchema

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "services/validate/src/datacommune/validate/schemas"


def descriptor() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / "scdl-subventions/schema.json").read_text())
    loaded.pop("custom_checks", None)
    return loaded


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each descriptor frictionless's own Schema validation reads, by its name."""
    seen: list[str] = []
    validate = Schema.metadata_validate.__func__  # type: ignore[attr-defined]

    def counted(cls: type[Schema], /, given: dict[str, Any], **kwargs: Any) -> Iterator[Any]:
        seen.append(given.get("name", "?"))
        yield from validate(cls, given, **kwargs)

    monkeypatch.setattr(Schema, "metadata_validate", classmethod(counted))
    return seen


def test_copies_are_frictionless_copies_validated_once(validations: list[str]) -> None:
    given = descriptor()
    given["name"] = "once"  # a descriptor no other test has validated in this process
    schema = ValidatedSchema.from_descriptor(given)
    copies = [schema.to_copy() for _ in range(5)]
    # The descriptor as given, then as a copy exports it (frictionless normalises it): two
    # validations, and none for the other four copies.
    assert validations.count("once") == 2
    assert all(type(copy) is ValidatedSchema for copy in copies)
    expected = Schema.from_descriptor(given).to_descriptor()
    assert all(copy.to_descriptor() == expected for copy in copies)


def test_a_schema_with_errors_is_refused_at_every_copy(validations: list[str]) -> None:
    wrong = descriptor()
    wrong["name"] = "wrong"
    wrong["primaryKey"] = ["nowhere"]
    for _ in range(3):
        with pytest.raises(FrictionlessException, match="primary key"):
            ValidatedSchema.from_descriptor(wrong)
    assert validations.count("wrong") == 3


def test_checking_many_files_validates_the_schema_once(
    validations: list[str], tmp_path: Path
) -> None:
    given = descriptor()
    given["name"] = "many-files"
    entry = load_entry("scdl-subventions", given)
    example = ROOT / "examples/roques-subventions-2025.csv"
    reports_made = []
    for attempt in range(4):
        path = tmp_path / f"{attempt}.csv"
        path.write_bytes(example.read_bytes())
        reports_made.append(reports.check(path, schema=entry))
    assert len({json.dumps(r["summary"], sort_keys=True) for r in reports_made}) == 1
    # Each check copies the schema twice as frictionless opens the table: four files, at
    # most the two descriptors of the first one validated.
    assert 1 <= validations.count("many-files") <= 2


def test_only_a_descriptor_that_is_plain_json_is_remembered(validations: list[str]) -> None:
    # A tuple where JSON has a list, or a key that is a number, would write the same JSON as a
    # valid descriptor: such a descriptor is validated each time, as frictionless does.
    good = {"name": "plain", "fields": [{"name": "a", "type": "string"}]}
    twin = {"name": "plain", "fields": ({"name": "a", "type": "string"},)}
    ValidatedSchema.from_descriptor(good)
    for _ in range(2):
        with pytest.raises(FrictionlessException):
            ValidatedSchema.from_descriptor(twin)
    mixed = {"name": "mixed", "fields": [{"name": "a", "type": "string", 1: "x"}]}
    expected = Schema.from_descriptor(mixed).to_descriptor()
    assert ValidatedSchema.from_descriptor(mixed).to_descriptor() == expected
