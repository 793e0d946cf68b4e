"""Limits a file must stay within before it is parsed, each reported precisely if reached.

XLSX and ODS files are zip archives: a small upload can inflate to gigabytes (a zip bomb), so the
archive's declared sizes are checked before any parser opens it. XML bombs inside them are
defused by defusedxml, which openpyxl uses when it is installed. Nothing a file names (a URL, a
path, an external entity) is ever fetched: the file is read from its stored bytes only.
"""

import zipfile
from dataclasses import dataclass
from pathlib import Path

from datacommune.validate.reading.records import MAX_RECORD_BYTES, Span

MAX_COLUMNS = 1_000
MAX_LINE_BYTES = 1024 * 1024
MAX_UNZIPPED_BYTES = 1024 * 1024 * 1024
MAX_ZIP_RATIO = 200
MAX_ZIP_MEMBERS = 10_000
ARCHIVES = {".xlsx", ".ods"}
# No longer than a line may be: text() relies on it.
CHUNK = MAX_LINE_BYTES


@dataclass(frozen=True)
class Exceeded:
    """A limit reached: which, and the French and English to show."""

    limit: str
    fr: str
    en: str


def archive(path: Path) -> Exceeded | None:
    """A zip-based spreadsheet that would inflate too much, or is no archive at all."""
    try:
        with zipfile.ZipFile(path) as archive_file:
            members = archive_file.infolist()
    except zipfile.BadZipFile:
        return Exceeded(
            "archive",
            "Le fichier porte l'extension d'un classeur (XLSX, ODS) mais n'en est pas un. "
            "Réenregistrez-le depuis votre tableur.",
            "The file has a spreadsheet extension (XLSX, ODS) but is not one.",
        )
    if len(members) > MAX_ZIP_MEMBERS:
        return Exceeded(
            "zip-members",
            f"Le classeur contient plus de {MAX_ZIP_MEMBERS} éléments internes.",
            f"The workbook holds more than {MAX_ZIP_MEMBERS} internal members.",
        )
    total = sum(m.file_size for m in members)
    if total > MAX_UNZIPPED_BYTES:
        return Exceeded(
            "unzipped-size",
            f"Décompressé, le classeur dépasserait {MAX_UNZIPPED_BYTES // 2**20} Mio. "
            "Déposez plutôt un CSV.",
            f"Uncompressed, the workbook would exceed {MAX_UNZIPPED_BYTES // 2**20} MiB.",
        )
    for member in members:
        if member.compress_size and member.file_size / member.compress_size > MAX_ZIP_RATIO:
            return Exceeded(
                "zip-ratio",
                "Le classeur se décompresse de façon anormale (bombe zip) : il n'est pas ouvert.",
                "The workbook inflates abnormally (zip bomb): it is not opened.",
            )
    return None


def text(path: Path, skip: int) -> Exceeded | None:
    """A text file with a line longer than any table needs (often a binary file)."""
    # A chunk is no longer than the limit, so a line that starts and ends inside one is within
    # it: only the line running across chunk boundaries is measured (from its start in one
    # chunk to its end in another), with a search for the first and last line break each.
    current = 0  # bytes of the line not yet ended
    with path.open("rb") as src:
        src.seek(skip)
        while chunk := src.read(CHUNK):
            # Old Mac files end lines with a lone CR.
            first = min((i for i in (chunk.find(b"\n"), chunk.find(b"\r")) if i >= 0), default=-1)
            if first < 0:
                current += len(chunk)
            else:
                current += first
                if current <= MAX_LINE_BYTES:
                    current = len(chunk) - 1 - max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
            if current > MAX_LINE_BYTES:
                return Exceeded(
                    "line-length",
                    f"Une ligne dépasse {MAX_LINE_BYTES // 2**20} Mio : ce n'est sans doute pas "
                    "un tableau CSV.",
                    f"A line exceeds {MAX_LINE_BYTES // 2**20} MiB: probably not a CSV table.",
                )
    return None


def columns(count: int) -> Exceeded | None:
    """A header wider than any schema."""
    if count > MAX_COLUMNS:
        return Exceeded(
            "columns",
            f"Le fichier a {count} colonnes ; la limite est {MAX_COLUMNS}. Vérifiez le séparateur.",
            f"The file has {count} columns; the limit is {MAX_COLUMNS}. Check the delimiter.",
        )
    return None


def json_size(limit: int) -> Exceeded:
    """A JSON file too large to parse whole."""
    return Exceeded(
        "json-size",
        f"Un fichier JSON se lit en entier : au-delà de {limit // 2**20} Mio, déposez un CSV.",
        f"A JSON file is read whole: beyond {limit // 2**20} MiB, upload a CSV.",
    )


def json_depth(limit: int) -> Exceeded:
    """A JSON file nested deeper than any table (and than a parser's stack)."""
    return Exceeded(
        "json-depth",
        f"Le JSON imbrique des listes ou des objets sur plus de {limit} niveaux, alors qu'un "
        "tableau en demande deux ou trois. Déposez une liste d'objets (une ligne chacun), ou un "
        "CSV.",
        f"The JSON nests lists or objects more than {limit} levels deep, where a table needs "
        "two or three. Upload a list of objects (one per row), or a CSV.",
    )


def record(span: Span) -> Exceeded:
    """A row of the table, over one or many lines of the file, larger than any reader should
    hold (a whole text in one cell, or a misplaced quote)."""
    mib = f"{span.size / 2**20:.1f}"
    # A record still open when the scan stopped is at least that large.
    over_fr, over_en = ("", "") if span.whole else ("plus de ", "over ")
    return Exceeded(
        "row-size",
        f"La ligne {span.record} du tableau, qui commence à la ligne {span.line} du fichier, "
        f"fait {over_fr}{mib.replace('.', ',')} Mio ; une ligne du tableau ne peut dépasser "
        f"{MAX_RECORD_BYTES // 2**20} Mio, même sur plusieurs lignes du fichier. Une cellule "
        "entre guillemets y contient sans doute un texte entier ou un guillemet mal placé : "
        "raccourcissez-la (un tableur n'en garde que 32 767 caractères), ou publiez ce texte "
        "à part.",
        f"Row {span.record} of the table, starting at line {span.line} of the file, holds "
        f"{over_en}{mib} MiB; a row may not exceed {MAX_RECORD_BYTES // 2**20} MiB, even "
        "over several lines. A quoted cell probably holds a whole text or a misplaced quote: "
        "shorten it, or publish that text separately.",
    )
