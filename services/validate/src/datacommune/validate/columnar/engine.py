"""Check a UTF-8 CSV in column batches and find what frictionless's ``validate`` finds.

frictionless opens the file first, as it would to validate it: it reads the header and a sample,
sniffs the CSV dialect, pairs labels with fields (or infers them) and says what is wrong with
the header. Then pyarrow reads the records in batches and each field's cells are judged by
``cells.FieldCells``. Records whose width is not the header's (found by the records scan) and
the schema's own checks (``custom_checks``) are read as frictionless rows, one at a time: they
are few, or need a row. Findings come out in frictionless's order: by row, then the row's cell
findings in field order, its ``unique`` and primary-key findings, then each custom check's.

A file the engine does not read the way frictionless would raises ``Unsupported`` before a
single finding is made, and is checked by frictionless instead.
"""

from __future__ import annotations

import csv
import io
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from frictionless import (
    Checklist,
    Error,
    Field,
    FrictionlessException,
    errors,
    formats,
    helpers,
)
from frictionless.resources import TableResource
from frictionless.table.row import Row, create_cell_handlers

from datacommune.validate.checks import findings
from datacommune.validate.columnar import custom
from datacommune.validate.columnar.cells import FieldCells, Verdict
from datacommune.validate.reading.records import MAX_RECORD_BYTES, Records

# Batches of this many bytes: a record (at most MAX_RECORD_BYTES) must fit in one. Measured on a
# 120 MB file: 2 MiB blocks read as fast as 4 MiB ones for 70 MB less peak memory.
BLOCK_BYTES = 2 * MAX_RECORD_BYTES
_END = 2**62  # sorts after every row: the findings a check makes at the end of the file


class Unsupported(Exception):
    """The file asks for something the engine does not read as frictionless does."""


@dataclass(frozen=True)
class Outcome:
    """What the engine found: the findings as the report holds them, and the rows read."""

    found: list[dict[str, Any]]
    rows: int


def check(
    path: Path, *, resource: TableResource, checklist: Checklist, records: Records
) -> Outcome:
    """Check the UTF-8 CSV at ``path``, which ``resource`` (not yet open) describes."""
    try:
        resource.open()  # type: ignore[no-untyped-call]
        fields = resource.header.get_expected_fields()
    except FrictionlessException as exc:
        # frictionless's validate turns this into its finding: it says it best.
        resource.close()
        raise Unsupported(f"frictionless cannot open the table: {exc}"[:300]) from exc
    try:
        return _check(path, resource, fields, checklist, records)
    finally:
        resource.close()


def _check(
    path: Path,
    resource: TableResource,
    fields: list[Field],
    checklist: Checklist,
    records: Records,
) -> Outcome:
    _supported(resource, records)
    labels = resource.labels
    width = len(labels)
    if len(fields) != width:
        raise Unsupported("labels and fields not paired one to one")
    out = _Findings(checklist)
    checks = checklist.connect(resource)
    for stage, connected in enumerate(checks):
        for error in connected.validate_start():
            out.error(error, row=0, stage=stage)
    custom = list(enumerate(checks))[1:]
    table = _Table(fields, resource, custom, out)
    odd = list(zip(records.odd, records.odd_widths, strict=True))
    ragged = [r for r, w in odd if w]
    empties = {r for r, w in odd if not w}
    # The k-th record pyarrow gives (from 0, after the header) is record k + 2 + (how many
    # records it set aside as ragged before it); ``before`` holds, for each ragged record, how
    # many records pyarrow gives before it.
    before = [r - i - 2 for i, r in enumerate(ragged)]
    arrived: list[str] = []

    def skip(row: Any) -> str:
        arrived.append(row.text)
        return "skip"

    given = 0
    for batch in _batches(path, resource, width, skip):
        _ragged(table, ragged, arrived)
        if not batch.num_rows:
            continue
        span = range(given, given + batch.num_rows)
        given += batch.num_rows
        numbers = (
            [k + 2 + bisect_right(before, k) for k in span] if before else [k + 2 for k in span]
        )
        empty = None
        if empties:
            flags = [n in empties for n in numbers]
            empty = pa.array(flags, pa.bool_()) if any(flags) else None
        table.batch(batch, numbers, empty)
    _ragged(table, ragged, arrived)
    if table.ragged_seen != len(ragged) or given + len(ragged) != records.count - 1:
        raise Unsupported("the reader and the records scan disagree on the records")
    table.finish()
    for stage, connected in custom:
        for error in connected.validate_end():
            out.error(error, row=_END, stage=stage)
    return Outcome(out.sorted(), records.count - 1)


def _ragged(table: _Table, ragged: list[int], arrived: list[str]) -> None:
    """Read the records pyarrow set aside, the k-th being the k-th ragged record of the scan."""
    for text in arrived:
        if table.ragged_seen >= len(ragged):
            raise Unsupported("the reader and the records scan disagree on the records")
        table.ragged(ragged[table.ragged_seen], text)
    arrived.clear()


def _control(resource: TableResource) -> formats.CsvControl:
    control = resource.dialect.get_control("csv")
    if not isinstance(control, formats.CsvControl):
        raise Unsupported("no CSV dialect")
    return control


def _supported(resource: TableResource, records: Records) -> None:
    """Raise ``Unsupported`` unless pyarrow reads the records as frictionless's csv reader."""
    control = _control(resource)
    if control.quote_char != '"' or control.escape_char or control.skip_initial_space:
        raise Unsupported("a CSV dialect with other quoting or spacing")
    if not control.double_quote:
        raise Unsupported("a CSV dialect without doubled quotes")
    dialect = resource.dialect
    if dialect.header_rows != [1] or dialect.comment_char or dialect.comment_rows:
        raise Unsupported("a header elsewhere than the first row, or comments")
    if resource.schema.foreign_keys:
        raise Unsupported("foreign keys")
    if any(w < 0 for w in records.odd_widths):
        raise Unsupported("a last record whose quote never closes")


def _batches(
    path: Path, resource: TableResource, width: int, skip: Callable[[Any], str]
) -> Iterator[pa.RecordBatch]:
    names = [f"c{i}" for i in range(width)]
    control = _control(resource)
    # Given a path, pyarrow reads the file ahead of the batches taken (a 120 MB file held 84 MB
    # of its memory pool at once); given a Python file, one block at a time (11 MB).
    source = path.open("rb")
    reader = pacsv.open_csv(
        source,
        read_options=pacsv.ReadOptions(
            column_names=names, block_size=BLOCK_BYTES, use_threads=False
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=control.delimiter,
            quote_char='"',
            double_quote=True,
            escape_char=False,
            newlines_in_values=True,
            ignore_empty_lines=False,
            invalid_row_handler=skip,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    first = True
    with source:
        for batch in reader:
            if first:
                batch, first = batch.slice(1), False  # the header
            yield batch


class _Findings:
    """Findings with their place in frictionless's order."""

    def __init__(self, checklist: Checklist) -> None:
        self.checklist = checklist
        self.items: list[tuple[int, int, int, dict[str, Any]]] = []

    def error(self, error: Error, *, row: int, stage: int) -> None:
        if self.checklist.match(error):
            self.items.append((row, stage, len(self.items), findings.as_found(error)))

    def add(
        self,
        kind: type[Error],
        *,
        row: int,
        stage: int,
        note: str = "",
        field: str = "",
        number: int = 0,
        cell: str | None = None,
    ) -> None:
        """A finding the engine made, worded by frictionless's template for its kind."""
        if cell is not None and len(cell) > findings.MAX_CELL_CHARS:
            cell = f"{cell[: findings.MAX_CELL_CHARS]}…"
        described = {
            "cell": cell,
            "rowNumber": row,
            "fieldName": field,
            "fieldNumber": number,
            "note": note,
        }
        finding = {
            "type": kind.type,
            "message": helpers.safe_format(kind.template, described),
            "row": row,
            "field": field or None,
            "cell": cell,
            "note": note or None,
            "fatal": False,
        }
        self.items.append((row, stage, len(self.items), finding))

    def sorted(self) -> list[dict[str, Any]]:
        self.items.sort(key=lambda item: item[:3])
        return [item[3] for item in self.items]


# Stages of a row's findings, in frictionless's order; custom checks follow from 10.
_CELLS, _UNIQUE, _PRIMARY = 0, 1, 2


class _Table:
    """The state of one file's reading: its fields' checks and what keys must remember."""

    def __init__(
        self,
        fields: list[Any],
        resource: TableResource,
        custom: list[tuple[int, Any]],
        out: _Findings,
    ) -> None:
        self.fields = fields
        self.cells = [FieldCells(f) for f in fields]
        self.out = out
        self.custom = custom
        names = [f.name for f in fields]
        self.unique = [i for i, f in enumerate(fields) if f.constraints.get("unique")]
        primary = list(resource.schema.primary_key)
        self.primary = (
            [names.index(n) for n in primary] if set(primary) <= set(names) and primary else []
        )
        self.keyed = sorted({*self.unique, *self.primary})
        # Each keyed field's values, with their rows, to compare once the file is read.
        self.kept: dict[int, tuple[list[int], list[Any]]] = {i: ([], []) for i in self.keyed}
        self.handlers = create_cell_handlers(fields)
        # Fields whose value is their text, which the custom checks' tests can read.
        self.plain = frozenset(
            f.name for f in fields if f.type == "string" and f.format in ("default", None)
        )
        self.delimiter = _control(resource).delimiter
        self.ragged_seen = 0

    def batch(
        self, batch: pa.RecordBatch, numbers: list[int], empty: pa.BooleanArray | None
    ) -> None:
        verdicts = [
            c.judge(batch.column(i), empty, values=i in self.kept) for i, c in enumerate(self.cells)
        ]
        blank = verdicts[0].blank if verdicts else pa.array([False] * batch.num_rows)
        for v in verdicts[1:]:
            blank = pc.and_(blank, v.blank)
        blank_rows = set(pc.indices_nonzero(blank).to_pylist()) if self.fields else set()
        for number, (field, verdict) in enumerate(zip(self.fields, verdicts, strict=True), start=1):
            for index, notes, cell in verdict.faults:
                if index in blank_rows:
                    continue
                self._notes(numbers[index], field.name, number, notes, cell)
        for index in blank_rows:
            self.out.add(errors.BlankRowError, row=numbers[index], stage=_CELLS)
        for i in self.keyed:
            rows, values = self.kept[i]
            rows.extend(numbers)
            values.extend(verdicts[i].values or [])
        if self.custom:
            self._custom_batch(batch, numbers, empty, verdicts)

    def _custom_batch(
        self,
        batch: pa.RecordBatch,
        numbers: list[int],
        empty: pa.BooleanArray | None,
        verdicts: list[Verdict],
    ) -> None:
        """Each custom check on the rows its vectorised test does not clear."""
        seen = custom.Columns(
            text={f.name: batch.column(i) for i, f in enumerate(self.fields)},
            missing={f.name: v.blank for f, v in zip(self.fields, verdicts, strict=True)},
            plain=self.plain,
            rows=batch.num_rows,
        )
        rows: dict[int, Row] = {}
        columns: list[list[Any]] | None = None
        empties = set() if empty is None else set(pc.indices_nonzero(empty).to_pylist())
        for stage, connected in self.custom:
            clear = custom.cleared(connected, seen)
            if clear is not None and empty is not None:
                clear = pc.and_(clear, pc.invert(empty))
            indices = (
                range(batch.num_rows)
                if clear is None
                else pc.indices_nonzero(pc.invert(clear)).to_pylist()
            )
            if columns is None and len(indices) > batch.num_rows // 8:
                columns = [c.to_pylist() for c in batch.columns]
            for index in indices:
                if index not in rows:
                    if index in empties:
                        cells = []
                    elif columns is not None:
                        cells = [c[index] for c in columns]
                    else:  # a few rows: their cells only, not the whole batch as objects
                        cells = [c[index].as_py() for c in batch.columns]
                    rows[index] = Row(cells, handlers=self.handlers, row_number=numbers[index])
                for error in connected.validate_row(rows[index]):
                    self.out.error(error, row=numbers[index], stage=10 + stage)

    def ragged(self, number: int, text: str) -> None:
        """A record whose width is not the header's: frictionless's row reads it whole."""
        self.ragged_seen += 1
        cells = next(csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter), [])
        row = Row(cells, handlers=self.handlers, row_number=number)
        for error in row.errors:
            self.out.error(error, row=number, stage=_CELLS)
        for i in self.keyed:
            rows, values = self.kept[i]
            rows.append(number)
            values.append(row[self.fields[i].name])
        self._custom(row)

    def _custom(self, row: Row) -> None:
        for stage, connected in self.custom:
            for error in connected.validate_row(row):
                self.out.error(error, row=row.row_number, stage=10 + stage)

    def _notes(self, row: int, field: str, number: int, notes: dict[str, str], cell: str) -> None:
        # A type error is the cell's only finding: frictionless checks no constraint then.
        kinds: list[tuple[type[Error], str]] = []
        if notes.get("type"):
            kinds = [(errors.TypeError, notes["type"])]
        kinds = kinds or [(errors.ConstraintError, note) for note in notes.values()]
        for kind, note in kinds:
            self.out.add(
                kind, row=row, stage=_CELLS, field=field, number=number, cell=cell, note=note
            )

    def finish(self) -> None:
        """Compare the keyed fields' values, in the order of the rows."""
        order: list[int] | None = None
        for i in self.unique:
            rows, values = self.kept[i]
            order = sorted(range(len(rows)), key=rows.__getitem__) if order is None else order
            seen: dict[Any, int] = {}
            for j in order:
                value = values[j]
                if value is None:
                    continue
                row = rows[j]
                match = seen.get(value)
                seen[value] = row
                if match:
                    self.out.add(
                        errors.UniqueError,
                        row=row,
                        stage=_UNIQUE,
                        field=self.fields[i].name,
                        number=i + 1,
                        cell=str(value),
                        note=f"the same as in the row at position {match}",
                    )
        if self.primary:
            rows = self.kept[self.primary[0]][0]
            order = sorted(range(len(rows)), key=rows.__getitem__) if order is None else order
            memory: dict[tuple[Any, ...], int] = {}
            for j in order:
                key = tuple(self.kept[i][1][j] for i in self.primary)
                row = rows[j]
                if set(key) == {None}:
                    self._primary(row, 'cells composing the primary keys are all "None"')
                    continue
                match = memory.get(key)
                memory[key] = row
                if match:
                    self._primary(row, f"the same as in the row at position {match}")

    def _primary(self, row: int, note: str) -> None:
        self.out.add(errors.PrimaryKeyError, row=row, stage=_PRIMARY, note=note)
