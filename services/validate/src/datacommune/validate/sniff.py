"""What a file really is: its encoding and CSV dialect, with how sure we are and why.

Communes send Windows-1252, Latin-1, UTF-8 with or without BOM, a UTF-8 BOM glued to a
Windows-1252 body, UTF-16; `,` `;` tab or `|`; CRLF, LF or both. frictionless guesses the
encoding from a sample with chardet, which reads some French files as ISO-8859-2 and turns « è »
into « č » without a word. Here the whole file is read: strict UTF-8 first (a text that decodes
as UTF-8 almost never is anything else), then the 8-bit encodings a French file can be in,
scored by how French the decoded letters look; other scripts only when that score says so.
The chosen encoding and delimiter are given to frictionless, never left to its guess.
"""

import codecs
import csv
import io
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import chardet

CHUNK = 1024 * 1024
SAMPLE = 256 * 1024
DELIMITERS = [",", ";", "\t", "|"]
BOMS = [
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
]
# Letters a French text is made of beyond ASCII; others push a Latin guess down.
FRENCH = set("éèêëàâäçîïôöûüùÿœæÉÈÊËÀÂÄÇÎÏÔÖÛÜÙŸŒÆ€’‘“”«»°–—…\u00a0\u202f²³µ§")
LATIN_ENCODINGS = ("cp1252", "latin-1")


@dataclass(frozen=True)
class Encoding:
    """The encoding a file was read with."""

    name: str
    bom: str | None
    confidence: float
    reason: str

    @property
    def skip(self) -> int:
        """Bytes of BOM to skip before decoding."""
        return next((len(b) for b, n in BOMS if n == self.bom), 0)


@dataclass(frozen=True)
class Dialect:
    """How the rows and cells of a CSV file are separated."""

    delimiter: str
    confidence: float
    line_endings: str
    reason: str
    columns: int = 0


class Unreadable(Exception):
    """The bytes cannot be text in the encoding they announce (a BOM, or the person's choice)."""

    def __init__(self, encoding: str, position: int, reason: str) -> None:
        super().__init__(f"{encoding}: {reason} at byte {position}")
        self.encoding = encoding
        self.position = position
        self.reason = reason


def _decodes(path: Path, codec: str, skip: int) -> tuple[bool, int]:
    """Whether the whole file decodes strictly, and where it first fails."""
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    offset = skip
    with path.open("rb") as src:
        src.seek(skip)
        while chunk := src.read(CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return False, offset + exc.start
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            return False, offset + exc.start
    return True, -1


def _french_score(text: str) -> float:
    """Between -1 and 1: how much the non-ASCII letters of ``text`` look like French ones."""
    good = bad = 0
    for ch in text:
        if ord(ch) < 128:
            continue
        if ch in FRENCH:
            good += 1
        elif unicodedata.category(ch).startswith(("L", "S")) or unicodedata.category(ch) == "Cc":
            bad += 1
    total = good + bad
    return 0.0 if total == 0 else (good - bad) / total


def _eight_bit(path: Path, skip: int) -> Encoding:
    # A few megabytes are plenty to score; the strict UTF-8 pass already read the whole file.
    data = _head(path, skip)
    scored = []
    for codec in LATIN_ENCODINGS:
        try:
            scored.append((_french_score(data.decode(codec)), codec))
        except UnicodeDecodeError:
            continue
    best_score, best = max(scored) if scored else (-1.0, "latin-1")
    if not any(0x80 <= b <= 0x9F for b in data):
        # Both read 0xA0–0xFF alike; without 0x80–0x9F bytes the standard name is the honest one.
        best = "latin-1"
    guess = chardet.detect(data[:SAMPLE])
    other = (guess.get("encoding") or "").lower()
    if best_score < 0.5 and other and other not in ("ascii", "utf-8", "windows-1252", "iso-8859-1"):
        try:
            other = codecs.lookup(other).name
            text = data.decode(other)
        except (LookupError, UnicodeDecodeError):
            text = ""
        # Another script (Greek, Cyrillic…) wins only when French reading looks wrong.
        if text and not any(ch in text for ch in "čďűőŕĺ") and best_score < 0:
            return Encoding(
                other, None, 0.6, f"lettres non latines ; détecté par chardet ({other})"
            )
    if best == "cp1252":
        reason = "octets 0x80–0x9F (€, ’, œ…) : Windows-1252"
    else:
        reason = "ISO-8859-1 (Windows-1252 se lirait pareil ici)"
    confidence = 0.9 if best_score >= 0.8 else 0.7 if best_score >= 0.3 else 0.4
    return Encoding(best, None, confidence, f"pas de l'UTF-8 ; {reason}")


def _head(path: Path, skip: int) -> bytes:
    with path.open("rb") as src:
        src.seek(skip)
        return src.read(4 * CHUNK)


def detect_encoding(path: Path, override: str | None = None) -> Encoding:
    """The encoding of the file at ``path``; ``override`` is the person's choice, checked."""
    with path.open("rb") as src:
        head = src.read(4)
    bom = next((name for mark, name in BOMS if head.startswith(mark)), None)
    skip = next((len(mark) for mark, name in BOMS if name == bom), 0)
    if override:
        codec = codecs.lookup(override).name
        ok, position = _decodes(path, codec, skip)
        if not ok:
            raise Unreadable(codec, position, "choisi mais illisible")
        return Encoding(codec, bom, 1.0, "choisi par la personne qui dépose")
    if bom in ("utf-16-le", "utf-16-be"):
        ok, position = _decodes(path, bom, skip)
        if not ok:
            raise Unreadable(bom, position, "BOM UTF-16 mais contenu tronqué ou corrompu")
        return Encoding(bom, bom, 1.0, "BOM UTF-16")
    ok, _ = _decodes(path, "utf-8", skip)
    if ok:
        ascii_only = _ascii_only(path, skip)
        reason = "BOM UTF-8" if bom else ("ASCII seul" if ascii_only else "UTF-8 valide partout")
        return Encoding("utf-8", bom, 1.0, reason)
    guess = _eight_bit(path, skip)
    if bom == "utf-8":
        return Encoding(
            guess.name,
            bom,
            min(guess.confidence, 0.8),
            f"BOM UTF-8 suivi d'un contenu qui n'est pas de l'UTF-8 ; {guess.reason}",
        )
    return guess


def _ascii_only(path: Path, skip: int) -> bool:
    with path.open("rb") as src:
        src.seek(skip)
        while chunk := src.read(CHUNK):
            if not chunk.isascii():
                return False
    return True


def sample_text(path: Path, encoding: Encoding, size: int = SAMPLE) -> str:
    """The beginning of the file as text."""
    with path.open("rb") as src:
        src.seek(encoding.skip)
        data = src.read(size)
    return data.decode(encoding.name, errors="replace")


def detect_dialect(text: str, override: str | None = None) -> Dialect:
    """The delimiter that splits ``text`` into the most consistent table."""
    crlf = text.count("\r\n")
    lf = text.count("\n") - crlf
    endings = (
        "crlf" if crlf and not lf else "lf" if lf and not crlf else "mixte" if crlf else "aucune"
    )
    if override:
        return Dialect(override, 1.0, endings, "choisi par la personne qui dépose")
    records = text
    if len(text) >= SAMPLE - 4:
        # The sample may stop inside a record: keep whole lines only.
        records = text[: text.rfind("\n") + 1] or text
    best: tuple[float, int, str] = (0.0, 0, ",")
    for delimiter in DELIMITERS:
        rows = [r for r in csv.reader(io.StringIO(records), delimiter=delimiter) if r]
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        consistent = sum(1 for r in rows if len(r) == width) / len(rows)
        best = max(best, (consistent, width, delimiter))
    consistent, width, delimiter = best
    if width < 2:
        return Dialect(",", 0.3, endings, "une seule colonne trouvée")
    names = {",": "virgule", ";": "point-virgule", "\t": "tabulation", "|": "barre verticale"}
    return Dialect(
        delimiter,
        round(consistent, 2),
        endings,
        f"{names[delimiter]} : {width} colonnes, {consistent:.0%} des lignes ont ce nombre",
        width,
    )


def transcode(path: Path, encoding: Encoding, target: Path) -> None:
    """Write the file as UTF-8 without BOM, streaming; the cells are unchanged."""
    decoder = codecs.getincrementaldecoder(encoding.name)(errors="strict")
    with path.open("rb") as src, target.open("w", encoding="utf-8", newline="") as out:
        src.seek(encoding.skip)
        while chunk := src.read(CHUNK):
            out.write(decoder.decode(chunk))
        out.write(decoder.decode(b"", final=True))


def describe(encoding: Encoding, dialect: Dialect | None) -> dict[str, Any]:
    """What the report says about how the file was read."""
    body: dict[str, Any] = {"encoding": asdict(encoding)}
    if dialect is not None:
        body["dialect"] = asdict(dialect)
    return body
