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

# The characters a repair strips from a cell (checks/repairs.py).
_PADDED = "^[ \t\u00a0\u202f]|[ \t\u00a0\u202f]$"
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


def find(copy: Path, delimiter: str, schema: SchemaEntry | None) -> Untouched | None:
    """Read the UTF-8 ``copy``; None where its records may not line up with the repair's."""
    with copy.open(encoding="utf-8", newline="") as text:
        header = next(csv.reader(text, delimiter=delimiter), None)
    if not header:
        return None
    labels = [h.strip(PADDING) for h in header]
    width = len(labels)
    specs = {f["name"]: f for f in (schema.descriptor.get("fields", []) if schema else [])}
    to_look_at: set[int] = set()
    filled = [bool(h.strip()) for h in header]
    last_filled = False
    odd = False

    def ragged(_row: Any) -> str:
        nonlocal odd
        odd = True
        return "skip"

    number = 1  # the header
    for batch in text_batches(copy, delimiter, width, ragged):
        if number == 1:
            batch, number = batch.slice(1), 2
        if batch.num_rows:
            look = pa.array([False] * batch.num_rows, pa.bool_())
            any_filled = pa.array([False] * batch.num_rows, pa.bool_())
            for i, label in enumerate(labels):
                column = batch.column(i)
                look = pc.or_(look, pc.invert(_cleared(column, specs.get(label))))
                has = pc.match_substring_regex(column, FILLED)
                filled[i] = filled[i] or bool(pc.any(has).as_py())
                any_filled = pc.or_(any_filled, has)
            last_filled = bool(any_filled[-1].as_py())
            to_look_at.update(number + i for i in pc.indices_nonzero(look).to_pylist())
            number += batch.num_rows
    if odd:
        return None
    return Untouched(labels, to_look_at, all(filled) and last_filled, number - 1)


def _cleared(column: pa.Array, spec: dict[str, Any] | None) -> pa.BooleanArray:
    """The cells no repair changes (checks/repairs.py ``_repair_cell`` and the padding)."""
    column = column.cast(pa.string())
    kept = pc.invert(pc.match_substring_regex(column, _PADDED))
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
