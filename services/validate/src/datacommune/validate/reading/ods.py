"""OpenDocument spreadsheets (LibreOffice's .ods), read into a UTF-8 CSV of their first sheet.

frictionless reads ODS only through ezodf, unmaintained since 2015; the format is a zip holding
``content.xml``, which is streamed here through defusedxml (no entity expansion). Each cell gives
its value as stored — ``office:value`` for numbers, ``office:date-value`` for dates — not as
displayed, as openpyxl does for XLSX. Repeated empty cells and rows, which ODS writes by the
thousand at the end of a sheet, are dropped.
"""

import csv
import zipfile
from pathlib import Path

from defusedxml.ElementTree import iterparse

TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
# Past this, a repeat is a sheet's empty tail, or an attempt to blow memory up.
MAX_REPEAT = 10_000


class NotOds(Exception):
    """The archive holds no spreadsheet content."""


def _value(cell: object) -> str:
    kind = cell.get(f"{OFFICE}value-type")  # type: ignore[attr-defined]
    if kind in ("float", "percentage", "currency"):
        return str(cell.get(f"{OFFICE}value", ""))  # type: ignore[attr-defined]
    if kind == "date":
        return str(cell.get(f"{OFFICE}date-value", ""))  # type: ignore[attr-defined]
    if kind == "boolean":
        return str(cell.get(f"{OFFICE}boolean-value", ""))  # type: ignore[attr-defined]
    paragraphs = cell.findall(f"{TEXT}p")  # type: ignore[attr-defined]
    return "\n".join("".join(p.itertext()) for p in paragraphs)


def to_csv(path: Path, target: Path) -> str:
    """Write the first sheet of ``path`` to ``target``; returns the sheet's name."""
    try:
        archive = zipfile.ZipFile(path)
        content = archive.open("content.xml")
    except (zipfile.BadZipFile, KeyError) as exc:
        raise NotOds(str(exc)) from exc
    sheet = ""
    pending_empty: list[list[str]] = []
    with archive, content, target.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        for event, element in iterparse(content, events=("start", "end")):
            if event == "start" and element.tag == f"{TABLE}table":
                if sheet:
                    break  # the first sheet only
                sheet = element.get(f"{TABLE}name", "")
            if event != "end" or element.tag != f"{TABLE}table-row":
                continue
            row: list[str] = []
            for cell in element:
                if cell.tag not in (f"{TABLE}table-cell", f"{TABLE}covered-table-cell"):
                    continue
                repeat = min(int(cell.get(f"{TABLE}number-columns-repeated", "1")), MAX_REPEAT)
                row.extend([_value(cell)] * repeat)
            while row and row[-1] == "":
                row.pop()
            repeat = min(int(element.get(f"{TABLE}number-rows-repeated", "1")), MAX_REPEAT)
            element.clear()
            if not row:
                # Empty rows are written only if something follows them.
                pending_empty.extend([[]] * repeat)
                if len(pending_empty) > MAX_REPEAT:
                    pending_empty = pending_empty[:MAX_REPEAT]
                continue
            writer.writerows(pending_empty)
            pending_empty = []
            writer.writerows([row] * repeat)
    if not sheet:
        raise NotOds("no table in content.xml")
    return sheet
