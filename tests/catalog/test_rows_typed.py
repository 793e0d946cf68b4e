"""The row loader's pyarrow path gives the rows its Python path gives, value for value, or
says it cannot (``Irregular``) and leaves the file to the Python path."""

import math
import random
from pathlib import Path
from typing import Any

import pytest

from datacommune.catalog.rows import columns as rowtables
from datacommune.catalog.rows import typed
from datacommune.catalog.rows.loader import Records, initial_columns
from datacommune.shared import events

KINDS = ["string", "integer", "number", "boolean", "date", "year"]


def shape(
    kinds: list[str],
    *,
    encoding: str = "utf-8",
    delimiter: str = ";",
    bom: int = 0,
    date_format: str = "default",
) -> events.TableShape:
    return events.TableShape(
        encoding=encoding,
        delimiter=delimiter,
        bom_bytes=bom,
        fields=[
            events.TableField(
                name=f"f{i}", type=kind, format=date_format if kind == "date" else "default"
            )
            for i, kind in enumerate(kinds)
        ],
    )


def columns_of(path: Path, table: events.TableShape) -> list[dict[str, str]]:
    """The loader's columns, the shape's fields named as the header's labels."""
    records = Records(path, table)
    try:
        header = records.header()
    finally:
        records.close()
    fields = [
        field.model_copy(update={"name": label})
        for field, label in zip(table.fields, header, strict=False)
    ]
    return initial_columns(header, table.model_copy(update={"fields": fields}))


def by_python(path: Path, table: events.TableShape, columns: list[dict[str, str]]) -> Any:
    """The Python path's rows, or the column it refuses."""
    records = Records(path, table)
    out: list[tuple[Any, ...]] = []
    try:
        records.header()
        number = 2
        while batch := records.batch(7):
            out += rowtables.convert_rows(number, batch, rowtables.converters(columns))
            number += len(batch)
    except rowtables.NotConvertible as exc:
        return ("not convertible", exc.column)
    finally:
        records.close()
    return out


def by_arrow(
    path: Path, table: events.TableShape, columns: list[dict[str, str]], block_size: int
) -> Any:
    """The pyarrow path's rows, the column it refuses, or « irregular »."""
    out: list[tuple[Any, ...]] = []
    try:
        for batch in typed.TypedBatches(path, table, columns, block_size=block_size):
            out += zip(*(column.to_pylist() for column in batch.columns), strict=True)
    except rowtables.NotConvertible as exc:
        return ("not convertible", exc.column)
    except typed.Irregular:
        return "irregular"
    return out


def same(a: Any, b: Any) -> bool:
    """Equal, NaN equal to NaN and a float's type checked (1 is not 1.0 in a REAL column)."""
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def loaded(read: Any, columns: list[dict[str, str]]) -> Any:
    """What the loader ends with: each column a cell of which does not convert is read again
    as text (either path may name first any column that does not convert)."""
    columns = [dict(c) for c in columns]
    while isinstance(outcome := read(columns), tuple):
        columns[outcome[1]]["stored"] = "string"
    return outcome, [c["stored"] for c in columns]


def check(tmp_path: Path, content: bytes, table: events.TableShape, block_size: int) -> Any:
    path = tmp_path / "table.csv"
    path.write_bytes(content)
    columns = columns_of(path, table)
    python = loaded(lambda c: by_python(path, table, c), columns)
    arrow = loaded(lambda c: by_arrow(path, table, c, block_size), columns)
    assert arrow[0] == "irregular" or same(arrow, python), (content, arrow, python)
    return arrow[0], python


CASES = {
    "French decimals, dates and booleans in Windows-1252": (
        "nom;montant;vote_le;actif;annee\r\n"
        "Comité des fêtes;1200,5;05/01/2024;oui;2024\r\n"
        "\r\n"
        ";;;;\r\n"
        "  Amicale  ;0,5;31/12/2023;NON;2023\r\n"
        "Club;;;;\r\n",
        shape(
            ["string", "number", "date", "boolean", "year"],
            encoding="cp1252",
            date_format="%d/%m/%Y",
        ),
    ),
    "what Python reads and pyarrow does not, as Python reads it": (
        "a;b;c;d\n+5;1_0.5;20240105;Y\n 007 ;1e5;2024-01-05;vrai\n١٢;inf;2024-02-29;0\n",
        shape(["integer", "number", "date", "boolean"]),
    ),
    "a date pyarrow would read and Python refuses": (
        "a;b\n2024-1-5;x\n",
        shape(["date", "string"]),
    ),
    "an integer past 64 bits": (
        "a;b\n1;x\n9223372036854775808;y\n",
        shape(["integer", "string"]),
    ),
    "whitespace Python strips: NBSP, ideographic space, information separators": (
        "a;b;c\n\u00a0;\u3000;\x1c\n\u00a01\u00a0;\u3000x;2\x1f\n",
        shape(["integer", "string", "number"]),
    ),
    "a byte-order mark, quoted line breaks in a label and a cell, CRLF": (
        '\ufeff"libellé\nlong";n\r\n"deux\r\nlignes";3\r\n"";\r\n',
        shape(["string", "integer"], bom=3),
    ),
    "lone carriage returns": ("a;b\r1;2\r\r3;4\r", shape(["integer", "integer"])),
    "a boolean that is not one": ("a\nOUI\npeut-être\n", shape(["boolean"])),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("block_size", [64, 1 << 20])
def test_both_paths_give_the_same_rows(tmp_path: Path, name: str, block_size: int) -> None:
    text, table = CASES[name]
    arrow, _ = check(tmp_path, text.encode(table.encoding), table, block_size)
    if block_size > 1024:
        # Files of a few lines fit a block: pyarrow reads them all.
        assert arrow != "irregular", name


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        (b"a;b\n1;2\n3;4;5\n", "utf-8"),  # a record wider than the header
        (b"a;b\n1;2\n3\n", "utf-8"),  # a shorter one
        (b"a;b\n\xff;2\n", "utf-8"),  # not UTF-8: the Python path keeps a « \ufffd »
        (b"a;b\n\x81;2\n", "cp1252"),  # a byte Windows-1252 does not define
    ],
)
def test_what_pyarrow_cannot_read_record_for_record_goes_to_python(
    tmp_path: Path, content: bytes, encoding: str
) -> None:
    table = shape(["string", "string"], encoding=encoding)
    arrow, (rows, _) = check(tmp_path, content, table, 1 << 20)
    assert arrow == "irregular"
    assert rows  # the Python path loads it, padded, cut or with « \ufffd »


CELLS = {
    "string": ["x", "é", " a ", "", " ", '"q"', "a;b", "l\nm", "\u00a0", "=1+1", "NULL"],
    "integer": ["0", "-7", "+5", "007", " 12 ", "1_000", "1.0", "x", "", "9" * 20, "١"],
    "number": ["1.5", "-0", "1e3", "1,5", "1.5.2", "inf", "nan", ".5", "5.", "x", "", "1_0"],
    "boolean": ["oui", "Non", "TRUE", "0", "1", "y", "O", "x", "", " vrai "],
    "date": ["2024-01-05", "2024-02-30", "2024-1-5", "20240105", "x", "", " 2023-12-31 "],
    "year": ["2024", "-1", "0", "x", ""],
}


def test_random_tables_give_the_same_rows(tmp_path: Path) -> None:
    """Random tables of the cells each type meets in the wild, valid or not; each path's
    outcome is the same, or pyarrow says it cannot read the file record for record."""
    rng = random.Random(20261207)
    read = typed_columns = 0
    for _ in range(600):
        kinds = [rng.choice(KINDS) for _ in range(rng.randint(1, 5))]
        # Mostly good values, so that most tables load typed and their values are compared.
        odd = rng.choice([0.0, 0.002, 0.02, 0.2])
        lines = [";".join(f"h{i}" for i in range(len(kinds)))]
        for _ in range(rng.randint(0, 40)):
            cells = [
                rng.choice(CELLS[kind]) if rng.random() < odd else _good(kind, rng)
                for kind in kinds
            ]
            lines.append(";".join(_quoted(c) for c in cells))
            if rng.random() < 0.05:
                lines.append("")
        text = rng.choice(["\n", "\r\n", "\r"]).join(lines) + rng.choice(["", "\n"])
        encoding = rng.choice(["utf-8", "cp1252"])
        table = shape(kinds, encoding=encoding)
        content = text.encode(encoding, errors="replace")
        arrow, (_, stored) = check(tmp_path, content, table, rng.choice([64, 256, 1 << 20]))
        read += arrow != "irregular"
        typed_columns += sum(kind != "string" for kind in stored)
    assert read > 550
    assert typed_columns > 1000


def _good(kind: str, rng: random.Random) -> str:
    if kind == "string":
        return rng.choice(CELLS["string"])
    if kind in ("integer", "year"):
        return str(rng.randint(-(10**6), 10**6)) if rng.random() > 0.1 else ""
    if kind == "number":
        return repr(rng.uniform(-1e6, 1e6)) if rng.random() > 0.1 else ""
    if kind == "boolean":
        return rng.choice(["oui", "non", "true", "false", "1", "0", ""])
    return f"{rng.randint(1900, 2100)}-{rng.randint(1, 12):02}-{rng.randint(1, 28):02}"


def _quoted(cell: str) -> str:
    if any(c in cell for c in ';"\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell
