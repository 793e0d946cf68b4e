"""The repaired file's findings without reading the whole file again.

A repair changes some cells and copies every other row as it was read. Where a row's findings
depend on that row alone, the repaired file's findings are then the original's, but in the rows
the repair changed — checked again alone, as a small file of the header and those rows, each row
keeping its number in the whole file — and in the empty rows it removed from the end.

That holds with a schema whose fields have no ``unique`` constraint and no primary key (a
changed value could repeat, or stop repeating, a value elsewhere), with the header and the
columns as they were, and when the columnar engine checked the original (frictionless stops
counting at a cap; the engine counts everything). Otherwise — and without a schema, whose types
are inferred from the file — the whole repaired file is checked, and the report says why.
"""

import json
from array import array
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from datacommune.validate.checks.repairs import Repair, RowWriter
from datacommune.validate.reading.prepare import SAMPLE_ROWS
from datacommune.validate.registry import SchemaEntry

Found = list[dict[str, Any]]


# Findings recorded at most (some 250 bytes each on disk): past them, the repaired file is
# checked whole rather than the scratch folder growing to several times the file.
MAX_RECORDED = 1_000_000


class Recorder:
    """Each row's findings as the check gives them to its tally, kept in a JSON-lines file:
    a file's findings can be millions, never all held at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._out = path.open("w", encoding="utf-8")
        self._left = MAX_RECORDED
        self.overflowed = False

    def __call__(self, found: Found) -> None:
        if self.overflowed:
            return
        self._left -= len(found)
        if self._left < 0:
            self.overflowed = True
            self._out.truncate(0)
            return
        # Written before the tally adds its own keys to the findings.
        self._out.write(json.dumps(found, ensure_ascii=False) + "\n")

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, *_: object) -> None:
        self._out.close()

    def rows(self) -> Iterator[Found]:
        with self.path.open(encoding="utf-8") as src:
            for line in src:
                yield json.loads(line)


class Changed:
    """The repaired header and the rows a repair changed, written as a small CSV the way the
    repaired file is written, and each row's number in the whole file (8 bytes a row)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = path.open("w", encoding="utf-8", newline="")
        self._writer = RowWriter(self._handle)
        self.numbers = array("q")

    def __call__(self, number: int, cells: list[str]) -> None:
        if number > 1:
            self.numbers.append(number)
        self._writer.writerow(cells)

    def __enter__(self) -> "Changed":
        return self

    def __exit__(self, *_: object) -> None:
        self._handle.close()

    def renumber(self, row: int) -> int:
        """The number in the whole file of the small file's row ``row`` (from 2)."""
        return self.numbers[row - 2]


def schema_reason(schema: SchemaEntry | None) -> str | None:
    """Why no repair against ``schema`` can be checked from its changed rows (known before the
    check, which then records nothing), or None."""
    if schema is None:
        return "no schema: the columns' types are inferred from the whole file"
    fields = schema.descriptor.get("fields", [])
    if schema.descriptor.get("primaryKey") or any(
        (f.get("constraints") or {}).get("unique") for f in fields
    ):
        return "unique fields or a primary key: values are compared across rows"
    return None


def whole_file_reason(
    schema: SchemaEntry | None, report: dict[str, Any], repair: Repair
) -> str | None:
    """Why the repaired file must be checked whole, or None when its changed rows suffice."""
    if reason := schema_reason(schema):
        return reason
    if (report.get("engine") or {}).get("name") != "columnar":
        return "the original was checked by frictionless"
    if repair.header_changed or repair.counter["empty-column"]:
        return "the header or the columns changed"
    if repair.counter["empty-row"] and repair.last_row <= SAMPLE_ROWS + 1:
        # frictionless finds the header row from the widths of a sample of rows: without
        # the removed rows, the sample of a small file is another.
        return "empty rows removed from the rows frictionless samples"
    return None


def merged(
    original: Iterable[Found], again: Iterable[Found], changed: "array[int]", last_row: int
) -> Iterator[Found]:
    """The repaired file's findings, row by row in order: the original's, but for the rows in
    ``changed`` (whose findings ``again`` gives, numbered as in the whole file) and the rows
    after ``last_row`` (removed). The small file's header findings are the original's."""
    fresh = (found for found in again if found and found[0]["row"] is not None)
    head = next(fresh, None)
    place = 0  # in ``changed``, the first row not yet passed
    started = False
    for found in original:
        row = found[0]["row"] if found else None
        if row is None:
            if started:  # the table's own findings, after every row
                while head is not None:
                    yield head
                    head = next(fresh, None)
            yield found
            continue
        started = True
        while head is not None and head[0]["row"] < row:
            yield head
            head = next(fresh, None)
        while place < len(changed) and changed[place] < row:
            place += 1
        if row > last_row or (place < len(changed) and changed[place] == row):
            continue
        yield found
    while head is not None:
        yield head
        head = next(fresh, None)
