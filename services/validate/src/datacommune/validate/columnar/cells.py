"""One field's cells, a batch at a time: which frictionless would accept, found in bulk.

The vectorised tests here only ever *clear* a cell: a value a plain pattern proves castable
(``-?[0-9]{1,18}`` for an integer, a calendar date in the field's format) and that certainly
meets every constraint. Every other cell — a type frictionless must judge, a value near a
bound, text a regular expression engine other than Python's might read differently — goes to
frictionless's own cell reader, whose verdict and notes are the finding. So the engine can be
wrong only in speed, never in what it reports.
"""

from __future__ import annotations

import re
import re._parser as sre_parse  # type: ignore[import-not-found]
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any, cast

import pyarrow as pa
import pyarrow.compute as pc
from frictionless import Field
from frictionless.fields import BooleanField, NumberField

# int64 holds 18 decimal digits whatever they are.
_INTEGER = r"^-?[0-9]{1,18}$"
# Digits before and after the decimal mark a plain number may have to be cleared; parsed as a
# float64 it is within a relative 1e-15 of its value, far inside the margin of comparisons.
_DIGITS = 15
_MARGIN = 1e-9
# Batches a column of mostly distinct values is checked without looking for its distinct ones.
_UNHASHED = 16
# Date formats read as a fixed-width pattern, then checked by a round trip through pyarrow.
_DATE_PARTS = {"%Y": "[0-9]{4}", "%m": "[0-9]{2}", "%d": "[0-9]{2}"}
# Text on which Python's ``re`` and RE2 agree for any pattern this module accepts: printable
# ASCII (the classes \d, \w, \s are Unicode-wide in Python, ASCII in RE2).
PLAIN_ASCII = r"^[\x20-\x7e]*$"
# A letter or a digit: a cell holding one is not blank, whatever ``str.strip`` strips.
FILLED = "[0-9A-Za-z]"


@dataclass
class Verdict:
    """A batch of one field: its missing cells (a missing value, or an empty line), the cells
    frictionless finds fault with (index in the batch, its notes, the cell as read) and, when
    asked, every cell's typed value."""

    missing: pa.BooleanArray
    faults: list[tuple[int, dict[str, str], str]]
    values: list[Any] | None


class FieldCells:
    """The checks of one field, compiled once for a file."""

    def __init__(self, field: Field) -> None:
        self.field = field
        self.reader = field.create_cell_reader()
        missing = field.missing_values
        if not field.has_defined("missing_values") and field.schema:
            missing = field.schema.missing_values
        self.missing = pa.array([str(m) for m in missing], pa.string())
        self.only_empty = self.missing.to_pylist() == [""]
        self.value_reader = field.create_value_reader()
        # The constraints frictionless checks, in its order; ``unique`` is the table's.
        self.constraints = [
            (name, field.constraints[name])
            for name in field.supported_constraints
            if field.constraints.get(name) is not None
        ]
        self.required = bool(field.constraints.get("required"))
        # Whether checking a value costs more than hashing it (``_distinct``): not for text
        # taken as it is, unless a pattern or a list of values must be matched.
        plain = field.type == "any" or (
            field.type == "string" and field.format in ("default", None)
        )
        self.costly = not plain or any(n in ("pattern", "enum") for n, _ in self.constraints)
        self.unhashed = 0  # batches left before the distinct values are looked for again
        # Only an integer field has the attribute (exporting the descriptor costs milliseconds).
        self.bare = bool(getattr(field, "bare_number", True))

    def judge(self, column: pa.Array, empty: pa.BooleanArray | None, *, values: bool) -> Verdict:
        """Judge ``column`` (text); ``empty`` marks rows read from an empty line, whose cells
        frictionless sees as absent."""
        column = column.cast(pa.string()) if column.type != pa.string() else column
        if self.only_empty:
            # The usual missing value: a length test costs a fraction of a hash lookup.
            missing = pc.fill_null(pc.equal(pc.binary_length(column), 0), True)
        else:
            missing = pc.fill_null(pc.is_in(column, value_set=self.missing), True)
        if empty is not None:
            missing = pc.or_(missing, empty)
        typed, cleared = self._distinct(column)
        if values and typed is None:
            # Only the reader gives these values as frictionless holds them.
            cleared = pa.array([False] * len(column), pa.bool_())
        if self.required:
            ok = pc.and_(cleared, pc.invert(missing))
        else:
            ok = pc.or_(missing, cleared)
        faults: list[tuple[int, dict[str, str], str]] = []
        judged: dict[int, Any] = {}
        others = pc.indices_nonzero(pc.invert(ok)).to_pylist()
        if others:
            cells = column.take(pa.array(others, pa.int64())).to_pylist()
            empties = set() if empty is None else _true(empty, others)
            for index, cell in zip(others, cells, strict=True):
                target, notes = self.reader(None if index in empties else cell)
                judged[index] = target
                if notes:
                    faults.append((index, notes, str(cell)))
        return Verdict(missing, faults, self._values(typed, missing, judged) if values else None)

    def _values(
        self, typed: pa.Array | None, missing: pa.Array, judged: dict[int, Any]
    ) -> list[Any]:
        """Each row's typed value as frictionless holds it (None when blank or faulty)."""
        blank = missing.to_pylist()
        if typed is None:
            out: list[Any] = [None] * len(blank)
        else:
            out = typed.to_pylist()
            out = [None if b else v for v, b in zip(out, blank, strict=True)]
        for index, value in judged.items():
            out[index] = value
        return out

    def _distinct(self, column: pa.Array) -> tuple[pa.Array | None, pa.BooleanArray]:
        """``_cleared`` on each distinct value once where values repeat (a commune's name, a
        nature of aid, a year on every row), spread back to the rows.

        Finding the distinct values hashes every cell: it is done only where the checks cost
        more than that (a pattern, a date, a number), and a column found to hold mostly
        distinct values (a name, an amount, a reference on each row) is not hashed again for
        the next ``_UNHASHED`` batches. Either way the verdicts are the same."""
        if not self.costly or self.unhashed:
            self.unhashed = max(0, self.unhashed - 1)
            return self._cleared(column)
        encoded = pc.dictionary_encode(column)
        if len(encoded.dictionary) * 2 > len(column):
            self.unhashed = _UNHASHED
            return self._cleared(column)
        typed, cleared = self._cleared(encoded.dictionary)
        return (
            None if typed is None else typed.take(encoded.indices),
            cleared.take(encoded.indices),
        )

    def _cleared(self, column: pa.Array) -> tuple[pa.Array | None, pa.BooleanArray]:
        """The cells certainly valid, type and constraints; and their typed values where the
        vectorised reading gives exactly frictionless's (else None: the reader gives them)."""
        kind = self.field.type
        typed: pa.Array | None = None
        comparable: pa.Array | None = None  # float64 beside the value, for bounds with a margin
        if kind == "any":
            cleared = pc.is_valid(column)
            typed = column
        elif kind == "string" and self.field.format in ("default", None):
            cleared = pc.is_valid(column)
            typed = column
        elif kind == "integer" and self.bare:
            cleared = pc.fill_null(pc.match_substring_regex(column, _INTEGER), False)
            typed = pc.cast(pc.if_else(cleared, column, "0"), pa.int64())
        elif kind == "number" and (shape := _number_shape(cast(NumberField, self.field))):
            pattern, decimal = shape
            cleared = pc.fill_null(pc.match_substring_regex(column, pattern), False)
            text = pc.if_else(cleared, column, "0")
            if decimal != ".":
                text = pc.replace_substring(text, decimal, ".")
            comparable = pc.cast(text, pa.float64())
        elif kind == "boolean":
            field = cast(BooleanField, self.field)
            known = [*field.true_values, *field.false_values]
            cleared = pc.fill_null(pc.is_in(column, value_set=pa.array(known, pa.string())), False)
            typed = pc.is_in(column, value_set=pa.array(field.true_values, pa.string()))
        elif kind == "year":
            cleared = pc.fill_null(pc.match_substring_regex(column, r"^[0-9]{4}$"), False)
            typed = pc.cast(pc.if_else(cleared, column, "0"), pa.int64())
        elif kind == "date" and (shape := _date_shape(self.field.format)) is not None:
            pattern, fmt = shape
            matched = pc.fill_null(pc.match_substring_regex(column, pattern), False)
            stamps = pc.strptime(pc.if_else(matched, column, None), fmt, "s", error_is_null=True)
            again = pc.strftime(stamps, fmt)
            # pyarrow reads and writes back the year 0, which Python's datetime refuses.
            after_year_0 = pc.greater_equal(pc.year(stamps), 1)
            cleared = pc.fill_null(
                pc.and_(pc.and_(matched, pc.equal(again, column)), after_year_0), False
            )
        else:
            return None, pa.array([False] * len(column), pa.bool_())
        for name, constraint in self.constraints:
            if name == "required":
                continue
            passed = self._passes(name, constraint, column, typed, comparable)
            cleared = pc.and_(cleared, pc.fill_null(passed, False))
        return typed, cleared

    def _passes(
        self,
        name: str,
        constraint: Any,
        column: pa.Array,
        typed: pa.Array | None,
        comparable: pa.Array | None,
    ) -> pa.Array:
        """Cells that certainly meet one constraint (false where not, or not sure)."""
        kind = self.field.type
        unsure = pa.array([False] * len(column), pa.bool_())
        if name in ("minLength", "maxLength") and kind == "string":
            length = pc.utf8_length(column)
            return (pc.greater_equal if name == "minLength" else pc.less_equal)(length, constraint)
        if name == "pattern" and kind == "string" and isinstance(constraint, str):
            # frictionless matches « ^pattern$ » from the first character: a top-level
            # alternation binds the anchors to its first and last branches only, and so here.
            return re2_certain(column, constraint, f"^(?:^{constraint}$)")
        if name == "enum" and kind in ("string", "integer"):
            allowed = [self.value_reader(v) for v in constraint]
            wanted = str if kind == "string" else int
            kept = [v for v in allowed if type(v) is wanted]
            if kind == "integer" and any(abs(int(v)) >= 2**63 for v in kept):
                return unsure
            target = column if kind == "string" else typed
            return pc.is_in(
                target, value_set=pa.array(kept, pa.string() if kind == "string" else pa.int64())
            )
        if name in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            bound = self.value_reader(constraint)
            compare = {
                "minimum": pc.greater_equal,
                "maximum": pc.less_equal,
                "exclusiveMinimum": pc.greater,
                "exclusiveMaximum": pc.less,
            }[name]
            if kind in ("integer", "year") and isinstance(bound, int) and abs(bound) < 2**63:
                return compare(typed, pa.scalar(bound, pa.int64()))
            if (
                kind == "number"
                and isinstance(bound, int | float | Decimal)
                and comparable is not None
            ):
                edge = float(bound)
                margin = _MARGIN * max(1.0, abs(edge))
                # Certain only away from the bound: a value within the margin is judged.
                shifted = (
                    edge + margin if name in ("minimum", "exclusiveMinimum") else edge - margin
                )
                return compare(comparable, pa.scalar(shifted, pa.float64()))
        return unsure


def _true(mask: pa.BooleanArray, indices: list[int]) -> set[int]:
    flags = mask.take(pa.array(indices, pa.int64())).to_pylist()
    return {i for i, flag in zip(indices, flags, strict=True) if flag}


def _number_shape(field: NumberField) -> tuple[str, str] | None:
    """The pattern of a plain number in the field's notation, and its decimal mark; None where
    a group mark or a non-bare number asks for frictionless's reading of each cell."""
    defined = set(field.list_defined())
    if "group_char" in defined or "bare_number" in defined:
        return None
    decimal = field.decimal_char if "decimal_char" in defined else "."
    if len(decimal) != 1 or decimal.isdigit() or decimal == "-":
        return None
    mark = re.escape(decimal)
    return rf"^-?[0-9]{{1,{_DIGITS}}}({mark}[0-9]{{1,{_DIGITS}}})?$", decimal


def _date_shape(fmt: str | None) -> tuple[str, str] | None:
    """A date format made only of %Y, %m, %d and literal marks, as a fixed-width pattern."""
    fmt = "%Y-%m-%d" if fmt in (None, "default") else fmt
    parts = re.split(r"(%.)", fmt)
    pattern = ""
    for part in parts:
        if part.startswith("%"):
            if part not in _DATE_PARTS:
                return None
            pattern += _DATE_PARTS[part]
        elif re.fullmatch(r"[-/. ]*", part):
            pattern += re.escape(part)
        else:
            return None
    return f"^{pattern}$", fmt


# Python regular-expression nodes RE2 reads the same way.
_SAFE_NODES = {
    "LITERAL",
    "NOT_LITERAL",
    "ANY",
    "IN",
    "MAX_REPEAT",
    "MIN_REPEAT",
    "SUBPATTERN",
    "BRANCH",
    "AT",
    "RANGE",
    "NEGATE",
    "CATEGORY",
}
_SAFE_AT = {"AT_BEGINNING", "AT_END"}
_ASCII_CATEGORIES = {
    "CATEGORY_DIGIT",
    "CATEGORY_NOT_DIGIT",
    "CATEGORY_WORD",
    "CATEGORY_NOT_WORD",
    "CATEGORY_SPACE",
    "CATEGORY_NOT_SPACE",
}


def re2_certain(column: pa.Array, source: str, anchored: str) -> pa.BooleanArray:
    """Cells Python's ``re`` matches with ``anchored`` (the pattern ``source`` within anchors),
    where RE2's verdict is certainly Python's; false elsewhere: a syntax RE2 reads otherwise, a
    line break (before which Python's « $ » also matches), text other than plain ASCII when the
    pattern uses \\d, \\w or \\s."""
    plain_only = re2_reads_alike(source)
    if plain_only is None:
        return pa.array([False] * len(column), pa.bool_())
    try:
        passed = pc.match_substring_regex(column, anchored)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([False] * len(column), pa.bool_())
    passed = pc.and_(passed, pc.invert(pc.match_substring(column, "\n")))
    if plain_only:
        passed = pc.and_(passed, pc.match_substring_regex(column, PLAIN_ASCII))
    return passed


@lru_cache(maxsize=256)
def re2_reads_alike(source: str) -> bool | None:
    """Whether RE2 reads the Python pattern ``source`` as Python's ``re`` does: None if not,
    True if only on plain ASCII text (it uses \\d, \\w or \\s), False if on any text."""
    if "{," in source or "[:" in source or "\\u" in source:
        return None
    try:
        tree = sre_parse.parse(source)
    except re.error:
        return None
    plain_only = False

    def safe(items: Any) -> bool:
        nonlocal plain_only
        for op, arg in items:
            name = str(op)
            if name not in _SAFE_NODES:
                return False
            if name == "AT" and str(arg) not in _SAFE_AT:
                return False
            if name == "CATEGORY":
                if str(arg) not in _ASCII_CATEGORIES:
                    return False
                plain_only = True
            if name == "SUBPATTERN":
                _group, add_flags, del_flags, body = arg
                if add_flags or del_flags or not safe(body):
                    return False
            elif name in ("MAX_REPEAT", "MIN_REPEAT") and not safe(arg[2]):
                return False
            elif name == "BRANCH" and not all(safe(b) for b in arg[1]):
                return False
            elif name == "IN" and not safe(arg):
                return False
        return True

    if not safe(tree) or tree.state.flags & ~re.UNICODE:
        return None
    return plain_only
