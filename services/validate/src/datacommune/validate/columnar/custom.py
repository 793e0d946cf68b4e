"""The French custom checks, cleared in bulk: the rows a check certainly has nothing to say of.

As for the cells (``cells.py``), a vectorised test only clears: a SIRET of fourteen ASCII
digits whose Luhn key (or La Poste's rule) holds, an INSEE code matching the département list,
a row where one of two columns holds a letter or a digit. Every row a check's test does not
clear is given to the check itself, as a frictionless row, and its findings are the check's.
A check with no test here runs on every row, as under frictionless.
"""

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from frictionless import Check

from datacommune.validate.checks import custom
from datacommune.validate.checks.french_rules import LA_POSTE_SIREN
from datacommune.validate.columnar.cells import FILLED

# Values whose verdicts a file remembers, per rule (a few megabytes at most).
_KNOWN = 100_000

# Python's INSEE rule (french_rules._INSEE) with ASCII digits: what RE2 matches, Python does.
_INSEE = r"^(?:(?:0[1-9]|1[0-9]|[3-8][0-9]|9[0-5]|2[1-9])[0-9]{3}|2[AB][0-9]{3}|97[1-6][0-9]{2})$"


@dataclass(frozen=True)
class Columns:
    """One batch as the tests see it: each field's text, which cells are missing, and which
    fields hold their text as their value (strings of the default format)."""

    text: dict[str, pa.Array]
    missing: dict[str, pa.BooleanArray]
    plain: frozenset[str]
    rows: int
    # Each rule's verdicts on the values already seen in the file (``_per_value``).
    known: dict[Callable[[pa.Array], pa.BooleanArray], dict[str, bool]]

    def everywhere(self) -> pa.BooleanArray:
        return pa.array([True] * self.rows, pa.bool_())


def cleared(check: Check, columns: Columns) -> pa.BooleanArray | None:
    """The rows ``check`` certainly finds nothing in; None when it has no test here."""
    test = _TESTS.get(type(check))
    return None if test is None else test(check, columns)


def _cell(
    rule: Callable[[pa.Array], pa.BooleanArray],
) -> Callable[[Check, Columns], pa.Array | None]:
    """A check of one column's non-blank values (``custom.CellCheck``)."""

    def test(check: Check, columns: Columns) -> pa.Array | None:
        name = check.column  # type: ignore[attr-defined]
        if name not in columns.text:
            return columns.everywhere()  # the check skips a table without the column
        if name not in columns.plain:
            return None
        known = columns.known.setdefault(rule, {})
        passed = pc.fill_null(_per_value(rule, columns.text[name], known), False)
        return pc.or_(columns.missing[name], passed)

    return test


def _per_value(
    rule: Callable[[pa.Array], pa.BooleanArray], text: pa.Array, known: dict[str, bool]
) -> pa.Array:
    """``rule`` on each distinct value once, where values repeat (the same SIRET on every row
    of a commune's file): its verdicts then spread to the rows by the dictionary's indices.

    A rule costs some hundred pyarrow calls a batch (a SIRET's key is fourteen digits), even on
    the one value of a column that never changes; so the verdicts on the values seen are
    ``known`` across the batches of a file (up to ``_KNOWN`` values), and only new values are
    judged."""
    encoded = pc.dictionary_encode(text)
    if len(encoded.dictionary) * 2 > len(text):
        return rule(text)
    values = encoded.dictionary.to_pylist()
    new = [v for v in values if v not in known]
    if len(known) + len(new) > _KNOWN:
        return rule(encoded.dictionary).take(encoded.indices)
    if new:
        known.update(zip(new, rule(pa.array(new, pa.string())).to_pylist(), strict=True))
    return pa.array([known[v] for v in values], pa.bool_()).take(encoded.indices)


def _digits(text: pa.Array, count: int) -> tuple[pa.BooleanArray, list[pa.Array]]:
    """Whether each cell is ``count`` ASCII digits, and its digits (0 where it is not)."""
    shaped = pc.fill_null(pc.match_substring_regex(text, f"^[0-9]{{{count}}}$"), False)
    padded = pc.if_else(shaped, text, "0" * count)
    digits = [pc.cast(pc.utf8_slice_codeunits(padded, i, i + 1), pa.int32()) for i in range(count)]
    return shaped, digits


def _luhn(digits: list[pa.Array]) -> pa.BooleanArray:
    """Luhn's key: from the right, every second digit doubled (less 9 past 9)."""
    total: pa.Array | None = None
    for place, digit in enumerate(reversed(digits)):
        if place % 2:
            doubled = pc.multiply(digit, 2)
            digit = pc.if_else(pc.greater(digit, 4), pc.subtract(doubled, 9), doubled)
        total = digit if total is None else pc.add(total, digit)
    assert total is not None
    return pc.equal(pc.remainder(total, 10), 0)


def _siret(text: pa.Array) -> pa.BooleanArray:
    shaped, digits = _digits(text, 14)
    total: pa.Array = digits[0]
    for digit in digits[1:]:
        total = pc.add(total, digit)
    la_poste = pc.starts_with(text, LA_POSTE_SIREN)
    keyed = pc.if_else(la_poste, pc.equal(pc.remainder(total, 5), 0), _luhn(digits))
    return pc.and_(shaped, keyed)


def _siren(text: pa.Array) -> pa.BooleanArray:
    shaped, digits = _digits(text, 9)
    return pc.and_(shaped, _luhn(digits))


def _insee(text: pa.Array) -> pa.BooleanArray:
    return pc.match_substring_regex(text, _INSEE)


def _one_of_required(check: Check, columns: Columns) -> pa.Array | None:
    names = [n for n in (check.column1, check.column2) if n in columns.text]  # type: ignore[attr-defined]
    if not names:
        return columns.everywhere()
    if not all(n in columns.plain for n in names):
        return None
    filled = [
        pc.and_(pc.invert(columns.missing[n]), _letter_or_digit(columns.text[n])) for n in names
    ]
    result = filled[0]
    for other in filled[1:]:
        result = pc.or_(result, other)
    return result


def _letter_or_digit(text: pa.Array) -> pa.BooleanArray:
    """Whether each cell holds an ASCII letter or digit (``FILLED``). A cell whose first
    character is one does; only the others of more than one character are searched."""
    found = pc.fill_null(pc.ascii_is_alnum(pc.utf8_slice_codeunits(text, 0, 1)), False)
    unsure = pc.and_(pc.invert(found), pc.greater(pc.utf8_length(text), 1))
    if not pc.any(unsure).as_py():
        return found
    searched = pc.match_substring_regex(text.filter(unsure), FILLED)
    return pc.replace_with_mask(found, unsure, pc.fill_null(searched, False))


_TESTS: dict[type, Callable[[Check, Columns], pa.Array | None]] = {
    custom.FrenchSiret: _cell(_siret),
    custom.FrenchSiren: _cell(_siren),
    custom.InseeCode: _cell(_insee),
    custom.OneOfRequired: _one_of_required,
}
