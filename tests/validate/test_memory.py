"""Keys remembered on disk past the memory limit give frictionless's very findings."""

import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from datacommune.validate.columnar import memory, reader
from datacommune.validate.registry import BUILTIN, Registry, load_entry
from tests.validate.differential import compare, generate

# Every kind of value a key holds, with the pairs Python holds equal though spelled apart.
VALUES: list[Any] = [
    1,
    1.0,
    Decimal("1.00"),
    True,
    0,
    False,
    Decimal("0"),
    Decimal("-0"),
    0.0,
    -0.0,
    Decimal("0.10"),
    Decimal("0.1"),
    0.1,
    Decimal("1E+1"),
    10,
    Decimal("Infinity"),
    float("inf"),
    float("-inf"),
    Decimal("NaN"),
    float("nan"),
    "1",
    "",
    "a\x1fsb",
    ("a", "b"),
    ("a\x1fsb",),
    (1, "a"),
    (Decimal("1.0"), "a"),
    (None, "a"),
    datetime.date(2024, 2, 29),
    "2024-02-29",
    None,
    # Past the 28 digits of Decimal's context, and exponents too large for an int.
    Decimal("0.12345678901234567890123456789"),
    Decimal("0.12345678901234567890123456788"),
    Decimal("1E+5000"),
    Decimal("10E+4999"),
    Decimal("1E-5000"),
    10**30,
    Decimal("1E+30"),
    -(10**30),
    Decimal("-1.5"),
    -1.5,
]


def test_values_are_equal_on_disk_exactly_when_python_says_so() -> None:
    for a in VALUES:
        for b in VALUES:
            assert (memory.encode(a) == memory.encode(b)) == (a == b), (a, b)


@pytest.mark.parametrize(
    "value", [datetime.datetime(2024, 1, 1), datetime.time(10, 0), datetime.timedelta(1)]
)
def test_kinds_whose_equality_is_not_written_stay_in_memory(value: Any, tmp_path: Path) -> None:
    remembered = memory.Remembered(tmp_path, "x", in_memory=1)
    assert remembered.remember([value, "other", value], [2, 3, 4]) == [None, None, 2]
    assert not remembered.spilled
    remembered.close()


def test_the_disk_answers_as_the_dictionary(tmp_path: Path) -> None:
    keys = [f"k{i % 37}" for i in range(500)]
    rows = list(range(2, 502))
    in_memory = memory.Remembered(tmp_path, "a")
    on_disk = memory.Remembered(tmp_path, "b", in_memory=10)
    wanted = [in_memory.remember(keys[i : i + 50], rows[i : i + 50]) for i in range(0, 500, 50)]
    got = [on_disk.remember(keys[i : i + 50], rows[i : i + 50]) for i in range(0, 500, 50)]
    assert got == wanted
    assert on_disk.spilled
    on_disk.close()
    assert not list(tmp_path.iterdir())  # its file went with it


KEYED = {
    "fields": [
        {"name": "id", "type": "integer", "constraints": {"unique": True}},
        {"name": "code", "type": "string", "constraints": {"unique": True, "maxLength": 6}},
        {"name": "montant", "type": "number", "constraints": {"unique": True}},
        {"name": "jour", "type": "date", "constraints": {"unique": True}},
        {"name": "annee", "type": "year"},
    ],
    "primaryKey": ["annee", "code"],
}


@pytest.mark.parametrize(
    "entry",
    [
        load_entry("keyed", KEYED),
        Registry.from_dirs([BUILTIN]).get("equipements-collectifs-futurocite"),
    ],
    ids=["keyed", "futurocite"],
)
def test_keys_remembered_on_disk_give_frictionless_s_findings(
    entry: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader, "BLOCK_BYTES", 32 * 1024)
    monkeypatch.setattr(memory, "IN_MEMORY", 10)
    spilled: list[bool] = []
    close = memory.Remembered.close

    def closing(self: memory.Remembered) -> None:
        spilled.append(self.spilled)
        close(self)

    monkeypatch.setattr(memory.Remembered, "close", closing)
    source = tmp_path / "generated.csv"
    # Without ragged records every batch is compared as it comes, so most go to the disk.
    generate(entry.descriptor, 1500, seed=5, path=source, ragged=False)
    compared = compare(source, entry, tmp_path / "work")
    assert compared.unsupported is None
    assert not compared.differences(), "\n".join(compared.differences())
    assert any(spilled)
    assert {"unique-error", "primary-key"} & {f["type"] for f in compared.found}
