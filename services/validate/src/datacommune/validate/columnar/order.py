"""The engine's findings, held until their rows are done and given in frictionless's order.

frictionless gives a row's findings as it reads the row: the cells of its ``unique`` fields
first, then of its primary key (it reads those before the others), the other cells in field
order, the row's extra and missing cells; then ``unique`` and primary-key findings; then each
custom check's. And a ``unique`` value repeated makes it read the whole row at that moment, so
in such a row the cells after that field follow in field order. The engine finds them in
another order (a column at a time), so each finding keeps its row, its stage and, for a cell,
its field; ``rank`` says where a field's cells come in a given row once the row is done.
"""

from bisect import bisect_right
from collections.abc import Callable
from typing import Any

from frictionless import Checklist, Error, errors, helpers

from datacommune.validate.checks import findings

# Where findings go, a row's at a time, in row order (``reports.tally.Tally.add_row``).
Sink = Callable[[list[dict[str, Any]]], None]
# Stages of a row's findings, in frictionless's order; custom checks follow from 10.
CELLS, UNIQUE, PRIMARY = 0, 1, 2
# After every field's cells: a row's extra and missing cells.
_AFTER_FIELDS = 2**31
_CELL_KINDS = (errors.TypeError, errors.ConstraintError)


class Unsupported(Exception):
    """The file asks for something the engine does not read as frictionless does."""


class Findings:
    """Findings kept with their place, given to ``sink`` a row at a time by ``flush``."""

    def __init__(self, checklist: Checklist, sink: Sink) -> None:
        self.checklist = checklist
        self.sink = sink
        # row, stage, field (-1 when not a field's cell), arrival, finding
        self.items: list[tuple[int, int, int, int, dict[str, Any]]] = []
        self.given = -1  # the last row given to the sink
        self.seq = 0
        self.rank: Callable[[int, int], int] = lambda _row, field: field

    def _keep(self, row: int, stage: int, field: int, finding: dict[str, Any]) -> None:
        if row <= self.given:
            # Its row was already given: the engine cannot keep frictionless's order.
            raise Unsupported(f"a finding of row {row} came after the row was reported")
        self.seq += 1
        self.items.append((row, stage, field, self.seq, finding))

    def error(self, error: Error, *, row: int, stage: int) -> None:
        """A finding frictionless made (a header, a ragged row, a custom check)."""
        if self.checklist.match(error):
            field = -1
            if stage == CELLS and isinstance(error, _CELL_KINDS):
                field = error.field_number - 1
            self._keep(row, stage, field, findings.as_found(error))

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
        self._keep(row, stage, number - 1 if stage == CELLS and number else -1, finding)

    def flush(self, upto: int) -> None:
        """Give the sink every row's findings up to row ``upto``, in frictionless's order."""
        self.items.sort(key=lambda item: item[0])
        cut = bisect_right(self.items, upto, key=lambda item: item[0])
        ready, self.items = self.items[:cut], self.items[cut:]
        ready.sort(key=self._place)
        row: list[dict[str, Any]] = []
        for i, item in enumerate(ready):
            row.append(item[4])
            if i + 1 == len(ready) or ready[i + 1][0] != item[0]:
                self.sink(row)
                row = []
        self.given = upto

    def _place(self, item: tuple[int, int, int, int, dict[str, Any]]) -> tuple[int, int, int, int]:
        row, stage, field, seq, _ = item
        if stage != CELLS:
            return row, stage, 0, seq
        return row, stage, _AFTER_FIELDS if field < 0 else self.rank(row, field), seq
