"""The quick type inference gives frictionless's very schema."""

import random
from pathlib import Path

import pytest
from frictionless import Detector, FrictionlessException, system
from frictionless.resources import TableResource

from datacommune.validate.reading.inference import QuickDetector

# Cells of every kind frictionless tells apart, and the near misses between them.
CELLS = [
    "",
    "12",
    "-7",
    "0012",
    "3.5",
    "1e3",
    "1 000",
    "12,5",
    "true",
    "FALSE",
    "yes",
    "2024-02-29",
    "2023-02-29",
    "2024-01-01T10:00:00",
    "2024-01-01T10:00:00Z",
    "10:30:00",
    "25:00:00",
    "2024",
    "2024-05",
    "P1Y2M",
    "45.1,1.4",
    '{"a": 1}',
    "[1, 2]",
    "Roques",
    "n/a",
    None,
]


def _schemas(fragment: list[list[object]], labels: list[str]) -> tuple[dict, dict]:
    candidates = system.detect_field_candidates()
    wanted = Detector().detect_schema(fragment, labels=labels, field_candidates=candidates)
    got = QuickDetector().detect_schema(fragment, labels=labels, field_candidates=candidates)
    return wanted.to_descriptor(), got.to_descriptor()


def test_generated_samples_give_frictionless_schema() -> None:
    draw = random.Random(19)
    for _ in range(300):
        width = draw.randint(1, 6)
        # Each column leans on one kind of cell, with others mixed in at a drawn rate, so
        # that scores land on both sides of frictionless's confidence threshold.
        leaning = [draw.choice(CELLS) for _ in range(width)]
        rate = draw.choice([0.0, 0.02, 0.08, 0.1, 0.12, 0.3])
        height = draw.randint(1, 60)
        fragment = [
            [
                draw.choice(CELLS) if draw.random() < rate else leaning[c]
                for c in range(draw.choice([width, width, width - 1]) or width)
            ]
            for _ in range(height)
        ]
        labels = [draw.choice(["a", "a", "", "b", "c"]) for _ in range(width)]
        wanted, got = _schemas(fragment, labels)
        assert got == wanted, (fragment, labels)


def test_corpus_tables_get_frictionless_schema(reference: Path) -> None:
    tables = sorted(reference.rglob("*.csv"))
    assert len(tables) > 20
    for path in tables:
        try:
            with TableResource(path=path.name, basepath=str(path.parent)) as plain:
                wanted = plain.schema.to_descriptor()
        except FrictionlessException:
            continue  # a table frictionless cannot open has no schema to infer
        with TableResource(
            path=path.name, basepath=str(path.parent), detector=QuickDetector()
        ) as quick:
            assert quick.schema.to_descriptor() == wanted, path.name


@pytest.mark.parametrize("labels", [None, []])
def test_a_table_without_labels_is_left_to_frictionless(labels: list[str] | None) -> None:
    wanted, got = _schemas([["1", "x"], ["2", "y"]], labels or [])
    assert got == wanted
