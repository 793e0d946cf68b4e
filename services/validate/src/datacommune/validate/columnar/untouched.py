"""The rows a repair certainly leaves as they are, found in bulk before it rewrites the file.

``checks/repairs.py`` looks at every cell of every row in Python: its padding, then the repair
its column's type allows. Most rows of a real file need none. Here pyarrow reads the UTF-8 copy
once and, column by column, clears the cells no repair can change (no padding, and a value
already in the form the column's repair would write: an ISO date, a number without comma or
space, an allowed value, a text the schema's pattern accepts); a row with a cell not cleared is
« to look at », and only those go through the cell-by-cell repair. The rest are copied as read.
The same pass tells whether every column holds a value somewhere and the last row is filled,
so the repair's first pass (empty columns, trailing empty rows) can be skipped.

Where the copy's records would not line up with the repair's own reading (a record of another
width than the header's), nothing is cleared.
"""

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from datacommune.validate.checks.repairs import PADDING
from datacommune.validate.columnar.cells import FILLED, re2_certain
from datacommune.validate.columnar.reader import text_batches
from datacommune.validate.registry import SchemaEntry

# What makes a number's repair look at it: a comma or a group space.
_NUMBER_MARKS = "[, \u00a0\u202f]"
_ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


@dataclass(frozen=True)
class Untouched:
    """The header as the repair names its columns; the rows (numbered from the header, 1) it
    must look at cell by cell; whether every column is certainly filled somewhere and the last
    row too; the number of the last row."""

    labels: list[str]
    to_look_at: set[int]
    filled: bool
    rows: int


class Clearing:
    """The rows a repair leaves alone, found batch by batch: by ``find`` reading the copy, or
    by the columnar engine as it checks it (the repair then costs no reading of its own)."""

    def __init__(self, schema: SchemaEntry | None) -> None:
        self._specs = {
            f["name"]: f for f in (schema.descriptor.get("fields", []) if schema else [])
        }
        self.labels: list[str] = []
        self.width = 0
        self._to_look_at: set[int] = set()
        self._filled: list[bool] = []
        self._last_filled = False
        self._number = 2  # the next row's, the header being row 1
        # Records of another width than the header's: the repair's reading may not line up.
        self.odd = True
        # Whether every row was seen (the engine may hand a file over to frictionless).
        self.complete = False

    def open(self, copy: Path, delimiter: str) -> "Clearing":
        """Read the header of the UTF-8 ``copy``, whose rows come next."""
        with copy.open(encoding="utf-8", newline="") as text:
            header = next(csv.reader(text, delimiter=delimiter), None) or []
        self.labels = [h.strip(PADDING) for h in header]
        self.width = len(self.labels)
        self._filled = [bool(h.strip()) for h in header]
        self.odd = not header
        return self

    def batch(self, batch: pa.RecordBatch) -> None:
        """The next rows, after the header, as ``width`` text columns."""
        if batch.num_columns != self.width:
            self.odd = True
        if self.odd or not batch.num_rows:
            return
        look = pa.array([False] * batch.num_rows, pa.bool_())
        for i, label in enumerate(self.labels):
            column = batch.column(i)
            look = pc.or_(look, pc.invert(_cleared(column, self._specs.get(label))))
            # Once a column is known filled, its other batches need not be searched.
            if not self._filled[i]:
                self._filled[i] = bool(pc.any(pc.match_substring_regex(column, FILLED)).as_py())
        last = batch.slice(batch.num_rows - 1)
        self._last_filled = any(
            pc.any(pc.match_substring_regex(c, FILLED)).as_py() for c in last.columns
        )
        start = self._number
        self._to_look_at.update(start + i for i in pc.indices_nonzero(look).to_pylist())
        self._number += batch.num_rows

    def result(self) -> Untouched | None:
        """What was found; None where the records may not line up with the repair's."""
        if self.odd or not self.complete:
            return None
        filled = all(self._filled) and self._last_filled
        return Untouched(self.labels, self._to_look_at, filled, self._number - 1)


def find(copy: Path, delimiter: str, schema: SchemaEntry | None) -> Untouched | None:
    """Read the UTF-8 ``copy``; None where its records may not line up with the repair's."""
    clearing = Clearing(schema).open(copy, delimiter)
    if clearing.odd:
        return None

    def ragged(_row: Any) -> str:
        clearing.odd = True
        return "skip"

    first = True
    for batch in text_batches(copy, delimiter, clearing.width, ragged):
        if first:
            batch, first = batch.slice(1), False  # the header
        clearing.batch(batch)
    clearing.complete = True
    return clearing.result()


def _cleared(column: pa.Array, spec: dict[str, Any] | None) -> pa.BooleanArray:
    """The cells no repair changes (checks/repairs.py ``_repair_cell`` and the padding)."""
    column = column.cast(pa.string())
    # Unpadded: trimming changes nothing (four times quicker than a regex on each cell).
    kept = pc.equal(pc.utf8_trim(column, PADDING), column)
    if spec is None:
        return kept
    empty = pc.equal(column, "")
    kind = spec.get("type", "string")
    constraints = spec.get("constraints") or {}
    if kind == "string" and isinstance(constraints.get("enum"), list):
        allowed = [v for v in constraints["enum"] if isinstance(v, str)]
        same = pc.is_in(column, value_set=pa.array(allowed, pa.string()))
    elif kind == "string" and (pattern := constraints.get("pattern")):
        # The repairs leave alone a value the pattern accepts whole (``re.fullmatch``).
        same = (
            re2_certain(column, pattern, f"^(?:{pattern})$")
            if isinstance(pattern, str)
            else pa.array([False] * len(column), pa.bool_())
        )
    elif kind in ("number", "integer"):
        same = pc.invert(pc.match_substring_regex(column, _NUMBER_MARKS))
    elif kind == "date" and spec.get("format", "default") == "default":
        same = pc.match_substring_regex(column, _ISO_DATE)
    elif kind == "boolean":
        words = (spec.get("trueValues") or ["true", "True", "TRUE", "1"]) + (
            spec.get("falseValues") or ["false", "False", "FALSE", "0"]
        )
        same = pc.is_in(
            column, value_set=pa.array([w for w in words if isinstance(w, str)], pa.string())
        )
    else:
        return kept
    return pc.and_(kept, pc.or_(empty, pc.fill_null(same, False)))
