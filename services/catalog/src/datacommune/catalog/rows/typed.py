"""A stored CSV's records as typed columns, read and converted by pyarrow: the row loader's
fast path.

The rows are the ones ``columns.convert_rows`` gives (the Python path, kept for what this
reading cannot do exactly): the same record numbers, blank records skipped, blank cells NULL,
text kept as written, each value converted as Python converts it, and a column that does not
convert all its cells reported with ``NotConvertible`` so that it is loaded as text. Where
pyarrow's reading of a value is not certainly Python's (a date written otherwise than
``2024-01-31``, a number with a decimal comma, a custom date format), that column of that
batch is converted by Python's own converter, so no value differs between the two paths.

What pyarrow does not read record for record as Python's csv module does — a record of
another width than the header, bytes not of the file's encoding (the Python path shows a
« � »), a record longer than a block — raises ``Irregular``, and the loader loads the file
by the Python path instead.

Why: on 500,000 rows, Python's csv reader and converters took 4.4 of the 10.1 seconds of a
load on PostgreSQL and 6.3 of 12.6 on SQLite (binding included); pyarrow, already in our
dependencies for validation and Parquet exports, parses and casts outside the interpreter and
the loader's thread overlaps it with the database's work (docs/rows.md has the figures).
"""

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from datacommune.catalog.rows import columns as rowtables
from datacommune.shared import events

# What Python's str.strip() removes: the loader's blank cells are the Python path's.
WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
# The only spelling of a date that pyarrow and date.fromisoformat read alike.
ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


class Irregular(Exception):
    """The file is not one pyarrow reads record for record as Python's csv module does."""


class TypedBatches:
    """The records of a stored CSV as record batches of ``_row`` then ``c0``, ``c1``…, typed
    as ``columns`` says; each batch holds about ``block_size`` bytes of the file."""

    def __init__(
        self,
        path: Path,
        shape: events.TableShape,
        columns: list[dict[str, str]],
        *,
        block_size: int,
    ) -> None:
        self._path = path
        self._shape = shape
        self._columns = columns
        self._block_size = block_size
        self._convert = rowtables.converters(columns)

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        width = len(self._columns)
        if width == 0:
            return
        source = pa.OSFile(str(self._path))
        try:
            source.seek(self._shape.bom_bytes)
            names = [c["column"] for c in self._columns]
            try:
                reader = pacsv.open_csv(
                    source,
                    read_options=pacsv.ReadOptions(
                        # The header is read as a record, never skipped by lines: a quoted
                        # label may hold a line break.
                        column_names=names,
                        block_size=self._block_size,
                        encoding=self._shape.encoding,
                    ),
                    parse_options=pacsv.ParseOptions(
                        delimiter=self._shape.delimiter,
                        newlines_in_values=True,
                        # An empty line is a record of blanks, as for Python's csv: numbered,
                        # then skipped.
                        ignore_empty_lines=False,
                        invalid_row_handler=_refuse,
                    ),
                    convert_options=pacsv.ConvertOptions(
                        column_types=dict.fromkeys(names, pa.string()),
                        strings_can_be_null=False,
                        quoted_strings_can_be_null=False,
                    ),
                )
                number = 1  # the header's
                header = True
                for batch in reader:
                    if header:
                        batch, header = batch.slice(1), False
                    if batch.num_rows:
                        yield self._typed(batch, number + 1)
                        number += batch.num_rows
            except (pa.ArrowInvalid, UnicodeError) as exc:
                raise Irregular(str(exc)[:300]) from exc
        finally:
            source.close()

    def _typed(self, batch: pa.RecordBatch, first: int) -> pa.RecordBatch:
        raw = batch.columns
        trimmed = [pc.utf8_trim(column, WHITESPACE) for column in raw]
        blanks = [pc.equal(pc.binary_length(column), 0) for column in trimmed]
        every_blank = blanks[0]
        for blank in blanks[1:]:
            every_blank = pc.and_(every_blank, blank)
        kept = pc.invert(every_blank)
        numbers = pa.array(range(first, first + batch.num_rows), pa.int64())
        arrays: list[pa.Array] = [numbers]
        for position, column in enumerate(self._columns):
            stored = column["stored"]
            if stored == "string":
                arrays.append(pc.if_else(blanks[position], None, raw[position]))
            else:
                arrays.append(
                    self._converted(position, stored, trimmed[position], blanks[position])
                )
        names = ["_row", *(c["column"] for c in self._columns)]
        return pa.RecordBatch.from_arrays(arrays, names=names).filter(kept)

    def _converted(
        self, position: int, stored: str, trimmed: pa.Array, blank: pa.Array
    ) -> pa.Array:
        values = pc.if_else(blank, None, trimmed)
        fast = _cast(stored, values, self._columns[position].get("format", "default"))
        if fast is not None:
            return fast
        return _by_python(values, self._convert[position], rowtables.ARROW_TYPES[stored], position)


def _refuse(row: Any) -> str:
    # pyarrow then stops with ArrowInvalid: a record of another width than the header's.
    return "error"


def _cast(stored: str, values: pa.Array, fmt: str) -> pa.Array | None:
    """``values`` (NULL where blank) as ``stored`` by pyarrow; None where pyarrow's reading
    might differ from Python's or refuses a value: Python converts that column then."""
    try:
        if stored in ("integer", "year"):
            return pc.cast(values, pa.int64())
        if stored == "number":
            return pc.cast(values, pa.float64())
        if stored == "boolean":
            folded = pc.utf8_lower(values)
            true = pc.is_in(folded, value_set=pa.array(sorted(rowtables.TRUE)))
            false = pc.is_in(folded, value_set=pa.array(sorted(rowtables.FALSE)))
            if pc.any(pc.and_(pc.is_valid(values), pc.invert(pc.or_(true, false)))).as_py():
                return None
            return pc.if_else(pc.is_valid(values), true, None)
        if stored == "date" and "%" not in fmt:
            if pc.all(pc.match_substring_regex(values, ISO_DATE)).as_py() is False:
                return None
            dates = pc.cast(pc.strptime(values, format="%Y-%m-%d", unit="s"), pa.date32())
            # pyarrow reads 2024-02-30 as 2024-03-01: a date that is not written back the
            # same is one Python refuses.
            if pc.all(pc.equal(pc.cast(dates, pa.string()), values)).as_py() is False:
                return None
            return dates
    except pa.ArrowInvalid:
        return None
    return None


def _by_python(
    values: pa.Array, convert: Callable[[str], Any], kind: pa.DataType, position: int
) -> pa.Array:
    out: list[Any] = []
    for value in values.to_pylist():
        if value is None:
            out.append(None)
            continue
        try:
            out.append(convert(value))
        except (ValueError, OverflowError):
            raise rowtables.NotConvertible(position) from None
    return pa.array(out, kind)


def sqlite_rows(batch: pa.RecordBatch) -> list[tuple[Any, ...]]:
    """The batch as SQLite stores it through SQLAlchemy: a date as ``YYYY-MM-DD`` text, a
    boolean as 0 or 1."""
    lists = []
    for column in batch.columns:
        if pa.types.is_date32(column.type):
            column = pc.cast(column, pa.string())
        elif pa.types.is_boolean(column.type):
            column = pc.cast(column, pa.int64())
        lists.append(column.to_pylist())
    return list(zip(*lists, strict=True))


def csv_text(batch: pa.RecordBatch) -> bytes:
    """The batch as PostgreSQL's ``COPY … (FORMAT csv)`` reads it: NULL unquoted and empty,
    text always quoted, numbers in their shortest exact spelling."""
    out = io.BytesIO()
    pacsv.write_csv(batch, out, pacsv.WriteOptions(include_header=False))
    return out.getvalue()
