"""The table that holds a version's rows: its columns, their SQL types, and how a cell of the
CSV becomes a value of that type.

Each tabular version gets ``rows_<version hex>``: ``_row`` (the line in the file, header = 1,
as in validation reports) then one column per CSV column, ``c0``, ``c1``… typed from the
schema the file was checked against. A column whose cells do not all convert is kept as text.
"""

import functools
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

# Columns that get an index (with ``_row``, so sorted pages walk it): beyond that, loading
# a wide table would cost more than the rare filter on its 40th column saves.
MAX_INDEXED_COLUMNS = 32

SQL_TYPES: dict[str, Any] = {
    "integer": sa.BigInteger,
    "year": sa.BigInteger,
    "number": sa.Double,
    "boolean": sa.Boolean,
    "date": sa.Date,
}
# The same types in Arrow, for the Parquet export and the loader's pyarrow path.
ARROW_TYPES: dict[str, pa.DataType] = {
    "integer": pa.int64(),
    "year": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
}
TRUE = {"true", "1", "oui", "vrai", "yes", "o", "y"}
FALSE = {"false", "0", "non", "faux", "no", "n"}


class NotConvertible(ValueError):
    """A cell that does not convert to its column's type: the column will be loaded as text."""

    def __init__(self, column: int) -> None:
        super().__init__(f"column {column}")
        self.column = column


def table_name(version_id: uuid.UUID) -> str:
    return f"rows_{version_id.hex}"


def sql_type(kind: str) -> str:
    """The kind of value stored for a Table Schema type; dates-with-times stay ISO text."""
    return kind if kind in SQL_TYPES else "string"


def table(version_id: uuid.UUID, columns: list[dict[str, str]]) -> sa.Table:
    """The SQLAlchemy description of a version's table of rows.

    The same object for the same table: SQLAlchemy caches compiled statements per table
    object, so a new one per request would recompile every query and crowd out the cache.
    """
    return _table(version_id, tuple((c["column"], c["stored"]) for c in columns))


@functools.lru_cache(maxsize=256)
def _table(version_id: uuid.UUID, columns: tuple[tuple[str, str], ...]) -> sa.Table:
    return sa.Table(
        table_name(version_id),
        sa.MetaData(),
        sa.Column("_row", sa.BigInteger, primary_key=True, autoincrement=False),
        *(sa.Column(name, SQL_TYPES.get(stored, sa.Text)) for name, stored in columns),
    )


@functools.lru_cache(maxsize=256)
def indexes(version_id: uuid.UUID, tbl: sa.Table) -> list[sa.Index]:
    """One index per column (up to a limit), each ending with ``_row`` for keyset pages.

    Made once per table object: an index attaches itself to its table, and more than one of
    the same name would be created twice. Create the table with ``create_table``, which leaves
    them out, so that they are built after the rows (faster than kept up row by row)."""
    columns = [c for c in tbl.columns if c.name != "_row"][:MAX_INDEXED_COLUMNS]
    return [sa.Index(f"ix_rows_{version_id.hex}_{c.name}", c, tbl.c._row) for c in columns]


def create_table(tbl: sa.Table) -> sa.schema.CreateTable:
    """The table alone, without the indexes ``indexes`` attached to it."""
    return sa.schema.CreateTable(tbl)


def drop_table(tbl: sa.Table) -> sa.schema.DropTable:
    return sa.schema.DropTable(tbl, if_exists=True)


def column_names(header: list[str]) -> list[str]:
    """The header made usable as column names: blanks named, duplicates numbered."""
    names: list[str] = []
    for position, label in enumerate(header, start=1):
        name = label.strip() or f"colonne_{position}"
        base, n = name, 2
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return names


def _integer(cell: str) -> int:
    value = int(cell)
    if not -(2**63) <= value < 2**63:
        raise ValueError(cell)
    return value


def _number(cell: str) -> float:
    try:
        return float(cell)
    except ValueError:
        # A French decimal comma, when the schema allowed it (decimalChar) or none was given.
        if cell.count(",") == 1 and "." not in cell:
            return float(cell.replace(",", "."))
        raise


def _boolean(cell: str) -> bool:
    folded = cell.lower()
    if folded in TRUE:
        return True
    if folded in FALSE:
        return False
    raise ValueError(cell)


def _date(fmt: str) -> Callable[[str], date]:
    if fmt and fmt not in ("default", "any") and "%" in fmt:
        return lambda cell: datetime.strptime(cell, fmt).date()
    return date.fromisoformat


def converters(columns: list[dict[str, str]]) -> list[Callable[[str], Any]]:
    """For each column, the function turning a non-empty cell into its stored value."""
    table: dict[str, Callable[[str], Any]] = {
        "integer": _integer,
        "year": _integer,
        "number": _number,
        "boolean": _boolean,
    }
    result: list[Callable[[str], Any]] = []
    for column in columns:
        if column["stored"] == "date":
            result.append(_date(column.get("format", "default")))
        else:
            result.append(table.get(column["stored"], str))
    return result


def convert_rows(
    first_row: int, rows: list[list[str]], convert: list[Callable[[str], Any]]
) -> list[tuple[Any, ...]]:
    """CSV records as typed tuples, ``_row`` first (the record's number, header = 1); blank
    cells are NULL, blank records are skipped. A short record is padded with NULLs, a long one
    cut: the validation report already told the commune. Text cells are kept as written."""
    width = len(convert)
    out: list[tuple[Any, ...]] = []
    for offset, record in enumerate(rows):
        if not any(cell.strip() for cell in record):
            continue
        values: list[Any] = [first_row + offset]
        for position in range(width):
            cell = record[position] if position < len(record) else ""
            stripped = cell.strip()
            if not stripped:
                values.append(None)
            elif convert[position] is str:
                values.append(cell)
            else:
                try:
                    values.append(convert[position](stripped))
                except (ValueError, OverflowError):
                    raise NotConvertible(position) from None
        out.append(tuple(values))
    return out
