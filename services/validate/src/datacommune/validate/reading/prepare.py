"""How a file becomes the UTF-8 CSV frictionless reads, or why it is refused before.

Whatever can make a file unreadable as a table, or too costly to read, is decided here before
frictionless holds one row: an encoding that does not decode, bytes that are not text, a line
or a row past its limit, a quote that never closes, a file without a single value. Each refusal
says in French and English what was found, where, and what to do.
"""

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from datacommune.validate.reading import limits, records, sniff, transcoding


@dataclass(frozen=True)
class Refusal:
    """A file refused before it is read as a table: the kind of finding and why."""

    type: str
    message: str
    fr: str
    en: str
    row: int | None = None
    limit: str | None = None
    source: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Text:
    """A text file ready for frictionless: its UTF-8 copy, how it was read, its largest row."""

    path: Path
    delimiter: str
    source: dict[str, Any]
    largest: int
    records: records.Records


# frictionless holds its first rows to find the header and infer types: 100 of them, unless
# they are large, so that a sample of megabyte rows does not hold a hundred megabytes.
SAMPLE_ROWS = 100
SAMPLE_BYTES = 4 * 1024 * 1024


def sample_rows(largest: int) -> int:
    """How many rows frictionless may sample when the largest row holds ``largest`` bytes."""
    return max(2, min(SAMPLE_ROWS, SAMPLE_BYTES // max(largest, 1)))


def exceeded(limit: limits.Exceeded) -> Refusal:
    """A limit reached, as a refusal."""
    return Refusal("limit-exceeded", limit.en, limit.fr, limit.en, limit=limit.limit)


def copy_of(path: Path) -> Path:
    """Where the UTF-8 copy of the text file at ``path`` is written, beside it."""
    return path.with_name(f"normalized-{path.stem}.csv")


def text(path: Path, *, encoding: str | None, delimiter: str | None) -> Text | Refusal:
    """Read a CSV/TSV/TXT file: its encoding (``encoding`` is the person's choice), its dialect
    (``delimiter`` likewise), then its UTF-8 copy, checked line by line and row by row."""
    try:
        found = sniff.detect_encoding(path, encoding)
    except LookupError:
        return Refusal(
            "encoding-error",
            f"Unknown encoding {encoding!r}",
            f"L'encodage « {encoding} » n'existe pas (ex. utf-8, cp1252, latin-1).",
            f"There is no encoding {encoding!r} (e.g. utf-8, cp1252, latin-1).",
        )
    except sniff.Unreadable as exc:
        # Binary bytes read as no encoding; that they are not text says more. (In UTF-16 and
        # UTF-32, NUL bytes are the encoding's own.)
        wide = exc.encoding.startswith(("utf-16", "utf-32"))
        if not wide and (line := _nul_line(path)) is not None:
            return _binary(path, line)
        return _unreadable(exc)
    # frictionless reads a UTF-8 copy with the dialect we found, never its own guesses.
    normalized = copy_of(path)
    try:
        copied = transcoding.transcode(path, found, normalized)
    except sniff.Unreadable as exc:
        return _unreadable(exc)
    if copied.nul_line is not None:
        return _binary(path, copied.nul_line)
    if limit := limits.text(path, found.skip):
        return exceeded(limit)
    dialect = sniff.detect_dialect(sniff.sample_text(path, found), delimiter)
    if limit := limits.columns(dialect.columns):
        return exceeded(limit)
    if not copied.lossless:
        found = replace(
            found,
            reason=f"{found.reason} ; relu ainsi, le texte ne redonne pas les mêmes octets : "
            "aucune conversion n'est proposée",
        )
    source = sniff.describe(replace(found, lossless=copied.lossless), dialect)
    rows = table(normalized, dialect.delimiter)
    if isinstance(rows, Refusal):
        return replace(rows, source=source)
    return Text(normalized, dialect.delimiter, source, rows.largest, rows)


def table(path: Path, delimiter: str) -> records.Records | Refusal:
    """The records of the UTF-8 CSV at ``path`` (a text file's copy, or an ODS or JSON file
    converted), or why it must not be read as rows."""
    found = records.scan(path, delimiter)
    if (span := found.unclosed) is not None:
        return Refusal(
            "unclosed-quote",
            f"A quote opened in record {span.record} is never closed",
            f"Un guillemet ouvert à la ligne {span.record} n'est jamais fermé : tout le reste "
            "du fichier tomberait dans une seule cellule. Fermez-le, ou retirez-le.",
            f"A quote opened at line {span.record} is never closed: the rest of the file "
            "would fall into one cell. Close it, or remove it.",
            row=span.record,
        )
    if (span := found.oversized) is not None:
        refusal = exceeded(limits.record(span))
        return replace(refusal, row=span.record)
    if not found.filled:
        if found.count == 0:
            what_fr, what_en = "est vide", "is empty"
        else:
            what_fr = "ne contient aucune valeur : seulement des espaces, des séparateurs ou des "
            what_fr += "lignes vides"
            what_en = "holds no value: only spaces, separators or empty lines"
        return Refusal(
            "source-error",
            "No readable row: the source is empty, or holds only spaces, separators or empty lines",
            f"Le fichier {what_fr}. Vérifiez que c'est le bon fichier et que l'export depuis "
            "votre tableur n'est pas vide, puis déposez-le à nouveau.",
            f"The file {what_en}. Check that this is the right file and that the export is not "
            "empty, then upload it again.",
        )
    return found


def _unreadable(exc: sniff.Unreadable) -> Refusal:
    return Refusal(
        "encoding-error",
        f"Cannot decode as {exc.encoding} at byte {exc.position}",
        f"Le fichier ne se lit pas en {exc.encoding} (octet {exc.position}) : {exc.reason}. "
        "Réenregistrez-le en « CSV UTF-8 » depuis votre tableur.",
        f"The file cannot be read as {exc.encoding} (byte {exc.position}). Save it again as "
        "'CSV UTF-8' from your spreadsheet.",
    )


def _binary(path: Path, line: int) -> Refusal:
    """No text holds a NUL character: the file is something else, or damaged."""
    if _only_nul(path):
        what_fr = " ; il n'est fait que d'octets nuls, comme une copie interrompue"
        what_en = "; it is nothing but NUL bytes, like an interrupted copy"
    elif (named := _signature(path)) is not None:
        what_fr, what_en = f" ; c'est {named[0]}", f"; it is {named[1]}"
    else:
        what_fr = what_en = ""
    return Refusal(
        "format-error",
        f"NUL character at line {line}: binary content, not text",
        f"Le fichier n'est pas un texte : il contient un caractère nul (octet 0) à la ligne "
        f"{line}{what_fr}. Exportez de nouveau le tableau en CSV depuis votre tableur, ou "
        "déposez le classeur lui-même (XLSX, ODS).",
        f"The file is not text: it holds a NUL character (byte 0) at line {line}{what_en}. "
        "Export the table again as CSV from your spreadsheet, or upload the workbook itself "
        "(XLSX, ODS).",
    )


# What a file that is not text usually is, by its first bytes: named, the person knows what
# they sent.
SIGNATURES = [
    (
        b"PK\x03\x04",
        "une archive ZIP (un classeur XLSX ou ODS renommé ?)",
        "a ZIP archive (a renamed XLSX or ODS workbook?)",
    ),
    (b"\xd0\xcf\x11\xe0", "un ancien document Office (XLS, DOC)", "an old Office document"),
    (b"%PDF", "un document PDF", "a PDF document"),
    (b"\x89PNG", "une image PNG", "a PNG image"),
    (b"\xff\xd8\xff", "une image JPEG", "a JPEG image"),
    (b"\x1f\x8b", "une archive gzip", "a gzip archive"),
    (b"7z\xbc\xaf", "une archive 7-Zip", "a 7-Zip archive"),
    (b"Rar!", "une archive RAR", "a RAR archive"),
]


def _signature(path: Path) -> tuple[str, str] | None:
    """What a binary file is (French, English), when its first bytes say so."""
    with path.open("rb") as src:
        head = src.read(8)
    return next(((fr, en) for magic, fr, en in SIGNATURES if head.startswith(magic)), None)


def _only_nul(path: Path) -> bool:
    """Whether the file is nothing but NUL bytes: space reserved and never written."""
    with path.open("rb") as src:
        while chunk := src.read(records.CHUNK):
            if chunk.strip(b"\0"):
                return False
    return True


def _nul_line(path: Path) -> int | None:
    """The line of the first NUL byte, if any."""
    lines = 0
    with path.open("rb") as src:
        while chunk := src.read(records.CHUNK):
            if (nul := chunk.find(b"\0")) >= 0:
                return lines + chunk.count(b"\n", 0, nul) + 1
            lines += chunk.count(b"\n")
    return None
