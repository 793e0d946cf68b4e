"""The columnar engine beside frictionless on the same prepared file: both lists of findings.

Used by ``test_columnar.py`` (bounded sizes, in ``make test``) and by
``bench/validate_differential.py`` (the larger run documented in docs/validation.md).
The generated files mutate plausible values of every field of a schema in the ways a value can
go wrong (type, constraint, spacing, notation, structure of the row), from a fixed seed.
"""

import csv
import io
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datacommune.validate import columnar
from datacommune.validate.checks import findings
from datacommune.validate.reading import prepare
from datacommune.validate.registry import SchemaEntry
from datacommune.validate.reports import report


@dataclass
class Compared:
    """Both engines' findings on one file; ``unsupported`` when the engine handed it over."""

    expected: list[dict[str, Any]]
    found: list[dict[str, Any]]
    rows_expected: int
    rows_found: int
    unsupported: str | None = None

    def differences(self, limit: int = 5) -> list[str]:
        """The first findings that differ, side by side, for an assertion message."""
        out = []
        for i, (a, b) in enumerate(zip(self.expected, self.found, strict=False)):
            if a != b:
                out.append(f"#{i}: frictionless {a}\n      columnar     {b}")
                if len(out) >= limit:
                    break
        if len(self.expected) != len(self.found):
            out.append(f"frictionless {len(self.expected)} findings, columnar {len(self.found)}")
        if self.rows_expected != self.rows_found:
            out.append(f"rows: frictionless {self.rows_expected}, columnar {self.rows_found}")
        return out


def compare(source: Path, schema: SchemaEntry | None, work: Path) -> Compared:
    """Prepare ``source`` as validate does (a UTF-8 copy), then check it with both engines."""
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"file{source.suffix.lower() or '.csv'}"
    shutil.copyfile(source, path)
    read = prepare.text(path, encoding=None, delimiter=None)
    assert not isinstance(read, prepare.Refusal), read
    options = report.csv_options(read.delimiter)
    plain = report.table_resource(read.path, schema, read.largest, options)
    task = plain.validate(report.checklist(schema), limit_errors=10**9).tasks[0]
    expected = [findings.as_found(e) for e in task.errors]
    rows_expected = int(task.stats.get("rows") or 0)
    resource = report.table_resource(read.path, schema, read.largest, options)
    found: list[dict[str, Any]] = []
    try:
        outcome = columnar.check(
            read.path,
            resource=resource,
            checklist=report.checklist(schema),
            records=read.records,
            sink=found.extend,
        )
    except columnar.Unsupported as exc:
        return Compared(expected, expected, rows_expected, rows_expected, str(exc))
    return Compared(expected, found, rows_expected, outcome.rows)


def kinds(findings_: list[dict[str, Any]]) -> set[tuple[int | None, str | None, str]]:
    return {(f["row"], f["field"], f["type"]) for f in findings_}


# Values a cell of each type may hold, right or wrong: the generator picks among them.
_COMMON = ["", " ", "NA", "n/a", "-", "\u00a0", "abc", "Équipe d'Été", "x" * 400, "a\nb", '"q"']
_BY_TYPE: dict[str, list[str]] = {
    "string": ["Toulouse", "31555", "75056", "2A004", "ab", "abcd", "a" * 20, "é" * 3, "١٢٣"],
    "integer": [
        "0",
        "7",
        "-3",
        "007",
        "+5",
        " 7",
        "7 ",
        "1_000",
        "1.0",
        "1e3",
        "١٢",
        "-0",
        "123456789012345678",
        "1234567890123456789",
        "99999999999999999999",
    ],
    "number": [
        "0",
        "3.14",
        "-2.5",
        "1e5",
        "NaN",
        "Infinity",
        "1,5",
        " 2.5",
        "1 000",
        "0.1",
        "0.10",
        ".5",
        "5.",
        "-0.0",
        "12345678901234567890.5",
        "1.000000000000001",
    ],
    "boolean": ["true", "false", "True", "FALSE", "1", "0", "yes", "vrai", "TRUE ", "t"],
    "date": [
        "2020-01-31",
        "2021-02-29",
        "2024-02-29",
        "2020-1-5",
        "31/01/2020",
        "2020-13-01",
        "2020-01-32",
        "0001-01-01",
        "0000-01-01",
        "2020-01-31T00:00:00",
        "20200131",
    ],
    "year": ["2020", "99", "0000", " 2020", "20 0", "+202", "12345"],
    "datetime": ["2020-01-31T10:00:00", "2020-01-31 10:00:00", "2020-01-31T10:00:00Z", "x"],
    "geojson": ['{"type": "Point", "coordinates": [1.4, 43.6]}', "{}", "[1, 2]", "x"],
}


def _candidates(field: dict[str, Any]) -> list[str]:
    kind = field.get("type", "string")
    values = list(_COMMON) + _BY_TYPE.get(kind, [])
    if "example" in field:
        values += [str(field["example"])] * 3 + [f" {field['example']}", f"{field['example']}x"]
    constraints = field.get("constraints", {})
    for v in constraints.get("enum", []):
        values += [str(v)] * 2 + [str(v).upper(), f"{v} "]
    for name in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if isinstance(constraints.get(name), int | float):
            bound = constraints[name]
            values += [str(bound), str(bound + 1), str(bound - 1)]
            if kind == "number":
                values += [f"{bound}.0000000001", str(bound - 0.000001), str(bound + 0.5)]
    for name in ("minLength", "maxLength"):
        if isinstance(constraints.get(name), int):
            n = constraints[name]
            values += ["z" * n, "z" * max(n - 1, 0), "z" * (n + 1), "é" * n]
    if kind == "number" and field.get("decimalChar"):
        values += ["1" + field["decimalChar"] + "5", "2" + field["decimalChar"] + "25"]
    if kind == "boolean":
        values += [str(v) for v in field.get("trueValues", []) + field.get("falseValues", [])]
    return values


def _siret(rng: random.Random) -> str:
    """A SIRET whose Luhn sum is right, so that custom checks also see valid values."""
    digits = [rng.randrange(10) for _ in range(13)]
    for last in range(10):
        number = [*digits, last]
        total = 0
        for i, d in enumerate(reversed(number)):
            d = d * 2 if i % 2 else d
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return "".join(map(str, number))
    return "".join(map(str, digits)) + "0"


def generate(
    schema: dict[str, Any], rows: int, seed: int, path: Path, *, ragged: bool = True
) -> None:
    """A CSV of ``rows`` mutated rows for ``schema``: each row starts from plausible values
    (the field's example, an enum value) and has one to three cells replaced by a value of
    another kind; about one row in ten is mutated as a row (an extra or missing cell, an empty
    line, every cell empty, a duplicate of an earlier row); without ``ragged``, no row is wider
    or narrower than the header."""
    rng = random.Random(seed)
    fields = schema.get("fields", [])
    names = [f["name"] for f in fields]
    pools = [_candidates(f) for f in fields]

    def plausible(field: dict[str, Any], pool: list[str]) -> str:
        enum = field.get("constraints", {}).get("enum")
        if enum:
            return str(rng.choice(enum))
        if "siret" in field["name"].lower() or "siren" in field["name"].lower():
            value = _siret(rng)
            return value[:9] if "siren" in field["name"].lower() else value
        if "example" in field:
            return str(field["example"])
        return rng.choice(pool)

    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    earlier: list[list[str]] = []
    for _ in range(rows):
        row = [plausible(f, pool) for f, pool in zip(fields, pools, strict=True)]
        for _ in range(rng.randint(1, 3)):
            if fields:
                i = rng.randrange(len(fields))
                row[i] = rng.choice(pools[i])
        shape = rng.random()
        if not ragged and shape < 0.04:
            shape = 0.5  # every row as wide as the header
        if shape < 0.02:
            row.append(rng.choice(["", "extra", "1"]))
        elif shape < 0.04 and row:
            row = row[: rng.randrange(len(row))]
        elif shape < 0.05:
            out.write("\n")
            continue
        elif shape < 0.06:
            row = [""] * len(fields)
        elif shape < 0.09 and earlier:
            row = list(rng.choice(earlier))
        if len(earlier) < 200:
            earlier.append(row)
        writer.writerow(row)
    path.write_text(out.getvalue(), encoding="utf-8")
