"""Hostile or oversized input gets a precise finding, never a crash or a hang."""

import json
import random
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from datacommune.validate.reading import limits
from datacommune.validate.reading.limits import MAX_COLUMNS, MAX_LINE_BYTES
from datacommune.validate.reading.records import MAX_RECORD_BYTES
from datacommune.validate.reports import report as reports


def limit_of(report: dict[str, object]) -> str:
    [issue] = report["issues"]  # type: ignore[misc]
    assert issue["type"] == "limit-exceeded"
    assert report["publishable"] is False
    return str(issue["limit"])


def test_a_zip_bomb_is_not_opened(tmp_path: Path) -> None:
    path = tmp_path / "file.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (50 * 1024 * 1024))
    assert path.stat().st_size < 200_000
    assert limit_of(reports.check(path, schema=None)) == "zip-ratio"


def test_a_fake_workbook_is_named(tmp_path: Path) -> None:
    path = tmp_path / "file.xlsx"
    path.write_bytes(b"id,nom\n1,a\n")
    report = reports.check(path, schema=None)
    assert limit_of(report) == "archive"
    assert "n'en est pas un" in report["message"]["fr"]  # type: ignore[index]


def test_an_xml_bomb_in_a_workbook_is_defused(tmp_path: Path) -> None:
    import openpyxl

    plain = tmp_path / "plain.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["nom"])  # type: ignore[union-attr]
    book.active.append(["x"])  # type: ignore[union-attr]
    book.save(plain)
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    sheet = (
        f'<?xml version="1.0"?><!DOCTYPE lolz [{entities}]><worksheet xmlns="http://'
        'schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" '
        't="inlineStr"><is><t>nom</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is>'
        "<t>&lol9;</t></is></c></row></sheetData></worksheet>"
    )
    # A real workbook whose sheet expands to a billion « lol » if the parser trusts its DTD.
    path = tmp_path / "file.xlsx"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = sheet.encode()
            target.writestr(item, data)
    started = time.monotonic()
    report = reports.check(path, schema=None)
    assert time.monotonic() - started < 10
    assert report["publishable"] is False
    # openpyxl parses through defusedxml, which refuses the entities (EntitiesForbidden).
    assert report["summary"]["error_types"] == {"format-error": 1}  # type: ignore[index]


def test_a_line_longer_than_any_table(tmp_path: Path) -> None:
    path = tmp_path / "file.csv"
    path.write_bytes(b"a,b\n" + b"x" * (MAX_LINE_BYTES + 10) + b",1\n")
    assert limit_of(reports.check(path, schema=None)) == "line-length"


def test_line_lengths_are_measured_across_chunks_with_every_line_ending(tmp_path: Path) -> None:
    # Lines near the limit and near the chunk size, ended by LF, CRLF or a lone CR, placed so
    # that breaks fall on both sides of chunk boundaries: the verdict is the one of reading
    # every line whole.
    rng = random.Random(18)
    near = [MAX_LINE_BYTES - 1, MAX_LINE_BYTES, MAX_LINE_BYTES + 1, limits.CHUNK - 1, 1, 0, 7]
    for attempt in range(40):
        lines = [b"x" * rng.choice(near + [rng.randrange(2 * MAX_LINE_BYTES)]) for _ in range(4)]
        data = b"".join(line + rng.choice([b"\n", b"\r\n", b"\r"]) for line in lines)
        if rng.random() < 0.3:
            data = data.rstrip(b"\r\n")  # the last line without its break
        path = tmp_path / f"{attempt}.csv"
        path.write_bytes(data)
        whole = max(map(len, re.split(rb"\r\n|\r|\n", data)))
        expected = "line-length" if whole > MAX_LINE_BYTES else None
        found = limits.text(path, 0)
        assert (found and found.limit) == expected, [len(line) for line in lines]


def test_a_row_over_the_limit_even_over_many_lines(tmp_path: Path) -> None:
    path = tmp_path / "file.csv"
    line = "x" * (MAX_RECORD_BYTES // 2) + "\n"
    path.write_text('id;texte\n1;court\n2;"' + line * 3 + '"\n3;court\n')
    report = reports.check(path, schema=None)
    assert limit_of(report) == "row-size"
    assert report["issues"][0]["row"] == 3  # type: ignore[index]
    assert (
        "La ligne 3 du tableau, qui commence à la ligne 3 du fichier, fait 1,5 Mio"
        in (
            report["message"]["fr"]  # type: ignore[index]
        )
    )


def test_too_many_columns(tmp_path: Path) -> None:
    path = tmp_path / "file.csv"
    header = ",".join(f"c{i}" for i in range(MAX_COLUMNS + 1))
    path.write_text(header + "\n" + ",".join("1" for _ in range(MAX_COLUMNS + 1)) + "\n")
    assert limit_of(reports.check(path, schema=None)) == "columns"


def test_nothing_named_in_a_file_is_fetched(tmp_path: Path) -> None:
    # A cell holding a URL is a value, never a source: the report is about the CSV itself.
    path = tmp_path / "file.csv"
    path.write_text("source\nhttp://127.0.0.1:9/secret\nfile:///etc/passwd\n")
    report = reports.check(path, schema=None)
    assert report["publishable"] is True
    assert report["summary"]["rows"] == 2  # type: ignore[index]


# Run apart, so that the peak is this check's alone: a warm-up first, for the lazy imports.
MEASURE = """
import json, resource, sys
from pathlib import Path
from datacommune.validate.reports import report as reports

def peak():
    high = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return high if sys.platform == "darwin" else high * 1024

reports.check_with_repair(Path(sys.argv[1]), schema=None)
for name in sys.argv[2:]:
    before = peak()
    report, _ = reports.check_with_repair(Path(name), schema=None)
    print(json.dumps({"growth": peak() - before, "report": report}))
"""


def test_multiline_cell_memory_bounded(tmp_path: Path) -> None:
    # The operator's file: one quoted cell of 50 MB over a thousand lines.
    cell = tmp_path / "cell.csv"
    with cell.open("w") as out:
        out.write('id,texte\n1,"')
        for _ in range(999):
            out.write("y" * 50_000 + "\n")
        out.write('"\n2,fin\n')
    # Rows just under the limit, each with a finding that frictionless keeps: accepted.
    rows = tmp_path / "rows.csv"
    with rows.open("w") as out:
        out.write("id,texte,n\n")
        for number in range(60):
            out.write(f'{number},"' + ("z" * 45_000 + "\n") * 20 + f'",{number},en trop\n')
    warm = tmp_path / "warm.csv"
    warm.write_text('id,texte,n\n1,"a\nb",2,x\n')
    measured = subprocess.run(
        [sys.executable, "-c", MEASURE, str(warm), str(cell), str(rows)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    refused, accepted = (json.loads(line) for line in measured.stdout.splitlines())
    assert limit_of(refused["report"]) == "row-size"
    assert refused["report"]["issues"][0]["row"] == 2
    assert (
        "La ligne 2 du tableau, qui commence à la ligne 2 du fichier"
        in (refused["report"]["message"]["fr"])
    )
    assert accepted["report"]["publishable"] is True
    assert accepted["report"]["summary"]["warning_types"] == {"extra-cell": 60}
    # Before, 540 MiB for the first (the csv module's 4-byte cells, read three times) and the
    # whole file for the second (frictionless's sample, and every finding holding its row).
    bound = 32 * MAX_RECORD_BYTES
    assert refused["growth"] < bound, refused["growth"]
    assert accepted["growth"] < bound, accepted["growth"]


def test_deep_json_is_a_limit_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "file.json"
    deep_cell = "[" * 70 + "]" * 70
    for content in ("[" * 100_000 + "]" * 100_000, f'[{{"a": 1, "b": {deep_cell}}}]'):
        path.write_text(content)
        report = reports.check(path, schema=None)
        assert limit_of(report) == "json-depth"
        assert "plus de 64 niveaux" in report["message"]["fr"]  # type: ignore[index]
        assert "more than 64 levels" in report["message"]["en"]  # type: ignore[index]
    # A GeoJSON geometry in a cell is a few levels deep: a table like any other.
    polygon = '{"type": "MultiPolygon", "coordinates": [[[[1.4, 43.6], [1.5, 43.6], [1.4, 43.7]]]]}'
    path.write_text(f'{{"data": [{{"nom": "Roques", "geometrie": {polygon}}}]}}')
    report = reports.check(path, schema=None)
    assert report["publishable"] is True
    assert report["summary"]["rows"] == 1  # type: ignore[index]
