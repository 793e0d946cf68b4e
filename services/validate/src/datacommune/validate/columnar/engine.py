"""Check a UTF-8 CSV in column batches and find what frictionless's ``validate`` finds.

frictionless opens the file first, as it would to validate it: it reads the header and a sample,
sniffs the CSV dialect, pairs labels with fields (or infers them) and says what is wrong with
the header. Then pyarrow reads the records in batches and each field's cells are judged by
``cells.FieldCells``. Records whose width is not the header's (found by the records scan) and
the schema's own checks (``custom_checks``) are read as frictionless rows, one at a time: they
are few, or need a row. Findings come out in frictionless's order (``order.py``): by row, then
within the row as frictionless reads it.

A file the engine does not read the way frictionless would raises ``Unsupported`` (perhaps
after some rows were given) and is checked afresh by frictionless instead.
"""

from __future__ import annotations

import csv
import io
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from frictionless import (
    Checklist,
    Error,
    Field,
    FrictionlessException,
    errors,
)
from frictionless.resources import TableResource
from frictionless.table.row import Row, create_cell_handlers

from datacommune.validate.columnar import custom, reader
from datacommune.validate.columnar.cells import FieldCells, Verdict
from datacommune.validate.columnar.memory import Remembered
from datacommune.validate.columnar.order import (
    CELLS,
    PRIMARY,
    UNIQUE,
    Findings,
    Sink,
    Unsupported,
)
from datacommune.validate.reading.records import Records

_END = 2**62  # sorts after every row: the findings a check makes at the end of the file


@dataclass(frozen=True)
class Outcome:
    """What the engine read: the number of rows (its findings went to the sink)."""

    rows: int


def check(
    path: Path,
    *,
    resource: TableResource,
    checklist: Checklist,
    records: Records,
    sink: Sink,
    renumber: Callable[[int], int] | None = None,
    observe: Callable[[pa.RecordBatch], None] | None = None,
) -> Outcome:
    """Check the UTF-8 CSV at ``path``, which ``resource`` (not yet open) describes, giving
    each row's findings to ``sink`` once the rows before it are done. ``Unsupported`` may come
    after some rows were given: the caller then starts afresh with frictionless.

    ``renumber`` gives each row (from 2) the number its findings carry, rising with it: the
    rows of a repaired file checked again alone keep their numbers in the whole file.
    ``observe`` is given each batch of records of the header's width, as read (text columns,
    header left out), so that another reading of them can be done in the same pass."""
    try:
        open_header(resource)
        fields = resource.header.get_expected_fields()
    except FrictionlessException as exc:
        # frictionless's validate turns this into its finding: it says it best.
        resource.close()
        raise Unsupported(f"frictionless cannot open the table: {exc}"[:300]) from exc
    try:
        return _check(path, resource, fields, checklist, records, sink, renumber, observe)
    finally:
        resource.close()


# What frictionless's ``TableResource.open`` does, in its order, up to the header (the sample,
# the dialect, the labels, the schema inferred or paired, the header's errors). It goes on to
# prepare its own row stream, which the engine never reads: building its cell handlers copies
# every field through its descriptor, validated again, a quarter of what checking a 5-row SCDL
# file costs. Foreign keys (their lookup is the step left out) are read by frictionless itself.
_HEADER_STEPS = ("parser", "buffer", "sample", "dialect", "labels", "fragment", "schema", "header")


def open_header(resource: TableResource) -> None:
    """Open ``resource`` as frictionless would, without its row stream; the whole ``open``
    where its steps are not those this frictionless has (tests/validate/test_engine_open.py
    compares the two)."""
    steps = [getattr(resource, f"_TableResource__open_{step}", None) for step in _HEADER_STEPS]
    if resource.schema.foreign_keys or any(step is None for step in steps):
        resource.open()  # type: ignore[no-untyped-call]
        return
    resource.close()
    try:
        for step in steps:
            step()  # type: ignore[misc]
    except Exception:
        resource.close()
        raise


def _check(
    path: Path,
    resource: TableResource,
    fields: list[Field],
    checklist: Checklist,
    records: Records,
    sink: Sink,
    renumber: Callable[[int], int] | None,
    observe: Callable[[pa.RecordBatch], None] | None,
) -> Outcome:
    reader.supported(resource, records)
    labels = resource.labels
    width = len(labels)
    if len(fields) != width:
        raise Unsupported("labels and fields not paired one to one")
    out = Findings(checklist, sink)
    checks = checklist.connect(resource)
    for stage, connected in enumerate(checks):
        for error in connected.validate_start():
            out.error(error, row=0, stage=stage)
    row_checks = list(enumerate(checks))[1:]
    table = _Table(fields, resource, row_checks, out, scratch=path.parent / path.stem)
    try:
        return _read(path, resource, records, table, row_checks, out, width, renumber, observe)
    finally:
        table.close()


def _read(
    path: Path,
    resource: TableResource,
    records: Records,
    table: _Table,
    row_checks: list[tuple[int, Any]],
    out: Findings,
    width: int,
    renumber: Callable[[int], int] | None,
    observe: Callable[[pa.RecordBatch], None] | None,
) -> Outcome:
    out.rank = table.rank
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
    for batch in reader.batches(path, resource, width, skip):
        _ragged(table, ragged, arrived, renumber)
        if observe is not None:
            observe(batch)
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
        # The table sees rows by the numbers they carry; the records scan's numbers stay here.
        table.batch(batch, [renumber(n) for n in numbers] if renumber else numbers, empty)
        # Rows are given once every ragged record among them has been read.
        if bisect_right(ragged, numbers[-1]) <= table.ragged_seen:
            table.flush(renumber(numbers[-1]) if renumber else numbers[-1])
    _ragged(table, ragged, arrived, renumber)
    if table.ragged_seen != len(ragged) or given + len(ragged) != records.count - 1:
        raise Unsupported("the reader and the records scan disagree on the records")
    for stage, connected in row_checks:
        for error in connected.validate_end():
            out.error(error, row=_END, stage=stage)
    table.flush(_END)
    return Outcome(records.count - 1)


def _ragged(
    table: _Table,
    ragged: list[int],
    arrived: list[str],
    renumber: Callable[[int], int] | None,
) -> None:
    """Read the records pyarrow set aside, the k-th being the k-th ragged record of the scan."""
    for text in arrived:
        if table.ragged_seen >= len(ragged):
            raise Unsupported("the reader and the records scan disagree on the records")
        number = ragged[table.ragged_seen]
        table.ragged(renumber(number) if renumber else number, text)
    arrived.clear()


class _Table:
    """The state of one file's reading: its fields' checks and what keys must remember."""

    def __init__(
        self,
        fields: list[Any],
        resource: TableResource,
        row_checks: list[tuple[int, Any]],
        out: Findings,
        *,
        scratch: Path,
    ) -> None:
        self.fields = fields
        self.cells = [FieldCells(f) for f in fields]
        self._handlers: dict[str, Any] | None = None
        self.out = out
        self.row_checks = row_checks
        names = [f.name for f in fields]
        self.unique = [i for i, f in enumerate(fields) if f.constraints.get("unique")]
        primary = list(resource.schema.primary_key)
        self.primary = (
            [names.index(n) for n in primary] if set(primary) <= set(names) and primary else []
        )
        self.keyed = sorted({*self.unique, *self.primary})
        # frictionless reads a row's ``unique`` fields, then its primary key's, before the
        # others: their cells' findings come first in the row.
        first = list(dict.fromkeys([*self.unique, *self.primary]))
        self.ranks = {field: place for place, field in enumerate(first)}
        self.ranks.update({i: len(first) + i for i in range(len(fields)) if i not in first})
        # Rows where a ``unique`` value repeats, and the first such field (its place in
        # ``unique``): frictionless reads the rest of the row in field order from there.
        self.repeated: dict[int, int] = {}
        # The rows read and not yet given, and each keyed field's values in them: compared in
        # the order of the rows when they are given.
        self.kept_rows: list[int] = []
        self.kept: dict[int, list[Any]] = {i: [] for i in self.keyed}
        # What ``unique`` and the primary key remember of the rows given so far (on disk
        # beside the file past memory.IN_MEMORY values).
        self.seen = {
            i: Remembered(scratch.parent, f"{scratch.name}-unique-{i}") for i in self.unique
        }
        self.memory = Remembered(scratch.parent, f"{scratch.name}-primary-key")
        # The custom checks' verdicts on the values seen, by rule (``custom._per_value``).
        self.known: dict[Any, dict[str, bool]] = {}
        # Fields whose value is their text, which the custom checks' tests can read.
        self.plain = frozenset(
            f.name for f in fields if f.type == "string" and f.format in ("default", None)
        )
        self.delimiter = reader.csv_control(resource).delimiter
        self.ragged_seen = 0

    def batch(
        self, batch: pa.RecordBatch, numbers: list[int], empty: pa.BooleanArray | None
    ) -> None:
        verdicts = [
            c.judge(batch.column(i), empty, values=i in self.kept) for i, c in enumerate(self.cells)
        ]
        blank = verdicts[0].missing if verdicts else pa.array([False] * batch.num_rows)
        for v in verdicts[1:]:
            blank = pc.and_(blank, v.missing)
        blank_rows = set(pc.indices_nonzero(blank).to_pylist()) if self.fields else set()
        for position in range(len(self.fields)):
            for index, notes, cell in verdicts[position].faults:
                if index in blank_rows:
                    continue
                name = self.fields[position].name
                self._notes(numbers[index], name, position + 1, notes, cell)
        for index in blank_rows:
            self.out.add(errors.BlankRowError, row=numbers[index], stage=CELLS)
        if self.keyed:
            self.kept_rows.extend(numbers)
            for i in self.keyed:
                self.kept[i].extend(verdicts[i].values or [])
        if self.row_checks:
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
            missing={f.name: v.missing for f, v in zip(self.fields, verdicts, strict=True)},
            plain=self.plain,
            rows=batch.num_rows,
            known=self.known,
        )
        rows: dict[int, Row] = {}
        columns: list[list[Any]] | None = None
        empties = set() if empty is None else set(pc.indices_nonzero(empty).to_pylist())
        for stage, connected in self.row_checks:
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
                    rows[index] = Row(cells, handlers=self.handlers(), row_number=numbers[index])
                self._custom(rows[index], [(stage, connected)])

    def handlers(self) -> dict[str, Any]:
        """frictionless's cell handlers, for the rows read whole: made when first needed (each
        field is copied and validated: milliseconds a file)."""
        if self._handlers is None:
            self._handlers = create_cell_handlers(self.fields)
        return self._handlers

    def ragged(self, number: int, text: str) -> None:
        """A record whose width is not the header's: frictionless's row reads it whole."""
        self.ragged_seen += 1
        cells = next(csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter), [])
        row = Row(cells, handlers=self.handlers(), row_number=number)
        if self.keyed:
            self.kept_rows.append(number)
            for i in self.keyed:
                self.kept[i].append(row[self.fields[i].name])
        for error in row.errors:
            self.out.error(error, row=number, stage=CELLS)
        self._custom(row, self.row_checks)

    def _custom(self, row: Row, row_checks: list[tuple[int, Any]]) -> None:
        for stage, connected in row_checks:
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
                kind, row=row, stage=CELLS, field=field, number=number, cell=cell, note=note
            )

    def flush(self, upto: int) -> None:
        """Compare the keyed fields' values of the rows up to ``upto``, in the order of the
        rows, then give those rows' findings to the sink."""
        if self.keyed:
            rows = self.kept_rows
            order = sorted(range(len(rows)), key=rows.__getitem__)
            done = [j for j in order if rows[j] <= upto]
            for i in self.unique:
                self._unique(i, done)
            if self.primary:
                self._primary_keys(done)
            later = [j for j in order if rows[j] > upto]
            self.kept_rows = [rows[j] for j in later]
            for i, values in self.kept.items():
                self.kept[i] = [values[j] for j in later]
        self.out.flush(upto)
        self.repeated = {row: f for row, f in self.repeated.items() if row > upto}

    def rank(self, row: int, field: int) -> int:
        """Where the cells of ``field`` come among the cells of ``row`` (``order.Findings``)."""
        repeated = self.repeated.get(row)
        if repeated is None:
            return self.ranks[field]
        read_first = self.unique[: repeated + 1]
        return read_first.index(field) if field in read_first else len(read_first) + field

    def _unique(self, i: int, done: list[int]) -> None:
        rows, values = self.kept_rows, self.kept[i]
        place = self.unique.index(i)
        given = [(values[j], rows[j]) for j in done if values[j] is not None]
        matches = self.seen[i].remember([v for v, _ in given], [r for _, r in given])
        for (value, row), match in zip(given, matches, strict=True):
            if match:
                self.repeated[row] = min(self.repeated.get(row, place), place)
                self.out.add(
                    errors.UniqueError,
                    row=row,
                    stage=UNIQUE,
                    field=self.fields[i].name,
                    number=i + 1,
                    cell=str(value),
                    note=f"the same as in the row at position {match}",
                )

    def _primary_keys(self, done: list[int]) -> None:
        rows = self.kept_rows
        keys = [(tuple(self.kept[i][j] for i in self.primary), rows[j]) for j in done]
        remembered = [(key, row) for key, row in keys if set(key) != {None}]
        matches = iter(self.memory.remember([k for k, _ in remembered], [r for _, r in remembered]))
        # Findings in the order of the rows: an all-empty key is told where it comes.
        for key, row in keys:
            if set(key) == {None}:
                self._primary(row, 'cells composing the primary keys are all "None"')
            elif match := next(matches):
                self._primary(row, f"the same as in the row at position {match}")

    def close(self) -> None:
        for remembered in self.seen.values():
            remembered.close()
        self.memory.close()

    def _primary(self, row: int, note: str) -> None:
        self.out.add(errors.PrimaryKeyError, row=row, stage=PRIMARY, note=note)
