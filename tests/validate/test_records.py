"""The records found without reading rows are the rows the csv module reads, line for line."""

import csv
import io
from pathlib import Path

import pytest

from datacommune.validate.reading import records

TRICKY = [
    # quoted cells over lines, doubled quotes, a quote inside an unquoted cell (24" screen),
    # text after a closing quote, CR and CRLF line ends, an empty line, no final line break
    'a;b;c\n1;"deux\nlignes";3\n4;écran 24";"x""y"\n5;"fin"suite;6\n\n7;"\r\n";8',
    'a,b\r\n"1\r\n2",x\r\n3,"y"\r\n',
    'a|b\r1|2\r3|"q\rr"\r',
    'a\tb\n"\t"\t\n',
]


def csv_rows(text: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


@pytest.mark.parametrize("text", TRICKY)
def test_records_are_the_rows_the_csv_module_reads(tmp_path: Path, text: str) -> None:
    delimiter = next(d for d in ";,|\t" if d in text.split("\n")[0].split("\r")[0])
    path = tmp_path / "file.csv"
    # Cut into tiny chunks, so that records and CRLFs straddle every boundary.
    for chunk in (1, 2, 3, records.CHUNK):
        path.write_bytes(text.encode())
        found = records.scan(path, delimiter, chunk_size=chunk)
        assert found.count == len(csv_rows(text, delimiter))
        assert found.filled
        assert found.unclosed is None
        assert found.oversized is None


def test_a_quote_that_never_closes_is_told_from_one_that_closes_late(tmp_path: Path) -> None:
    path = tmp_path / "file.csv"
    # Open to the end of the file over several lines: rows would vanish into one cell.
    path.write_text('nom;note\nA;"ouvert\nB;x\nC;y\n')
    found = records.scan(path, ";")
    assert found.unclosed is not None
    assert (found.unclosed.record, found.unclosed.line, found.unclosed.lines) == (2, 2, 3)
    # Open on the last line only: the csv module reads it as one cell, and so do we.
    path.write_text('nom;note\nA;"ouvert\n')
    assert records.scan(path, ";").unclosed is None
    # Closed far below: a cell of thousands of lines is a quote left open too.
    path.write_text('nom;note\nA;"' + "ligne\n" * 1500 + '"\nB;x\n')
    found = records.scan(path, ";")
    assert found.unclosed is not None
    assert found.unclosed.record == 2
