"""What a file really is: its encoding and CSV dialect, with how sure we are and why.

Communes send Windows-1252, Latin-1, UTF-8 with or without BOM, a UTF-8 BOM glued to a
Windows-1252 body, UTF-16 (even UTF-32) with or without BOM; `,` `;` tab or `|`; CRLF, LF or
both. frictionless guesses the encoding from a sample with chardet, which reads some French files
as ISO-8859-2 and turns « è » into « č » without a word. Here the whole file is read: strict UTF-8 first (a text that decodes
as UTF-8 almost never is anything else), then the 8-bit encodings a French file can be in,
scored by how French the decoded letters look; other scripts only when that score says so.
The chosen encoding and delimiter are given to frictionless, never left to its guess.
"""

import codecs
import csv
import io
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import chardet

CHUNK = 1024 * 1024
SAMPLE = 256 * 1024
# In this order when two split the sample equally well: a tab or a semicolon is rarely text.
DELIMITERS = ["\t", ";", "|", ","]
# UTF-32's little-endian BOM begins with UTF-16's: it is looked for first.
BOMS = [
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
]
# Letters a French text is made of beyond ASCII; others push a Latin guess down.
FRENCH = set("éèêëàâäçîïôöûüùÿœæÉÈÊËÀÂÄÇÎÏÔÖÛÜÙŸŒÆ€’‘“”«»°–—…\u00a0\u202f²³µ§")


WINDOWS_UNDEFINED = "datacommune-cp1252"


WINDOWS_HOLES = {0x81, 0x8D, 0x8F, 0x90, 0x9D}


def _windows_undefined(exc: UnicodeError) -> tuple[str | bytes, int]:
    # cp1252 leaves five bytes unassigned (0x81, 0x8D, 0x8F, 0x90, 0x9D); Windows maps them to
    # the same code points, and so do we, rather than fail a whole file on one stray byte. The
    # way back maps them back, so that such a reading still round-trips byte for byte.
    if isinstance(exc, UnicodeDecodeError):
        return chr(exc.object[exc.start]), exc.start + 1
    if isinstance(exc, UnicodeEncodeError) and ord(exc.object[exc.start]) in WINDOWS_HOLES:
        return bytes([ord(exc.object[exc.start])]), exc.start + 1
    raise exc


codecs.register_error(WINDOWS_UNDEFINED, _windows_undefined)


@dataclass(frozen=True)
class Encoding:
    """The encoding a file was read with."""

    name: str
    bom: str | None
    confidence: float
    reason: str
    errors: str = "strict"
    # Whether the text, encoded back, gives the very bytes of the file: known once the whole
    # file was read (``transcoding``); re-encoding it is a safe repair only then.
    lossless: bool | None = None

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
            except UnicodeError:  # « utf-16 » without its BOM
                return False, offset
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            return False, offset + exc.start
    return True, -1


C1 = bytes(range(0x80, 0xA0))


def _has_c1(path: Path, skip: int) -> bool:
    """Whether any byte 0x80–0x9F occurs: Windows-1252's €, ’, œ… (control codes in Latin-1)."""
    with path.open("rb") as src:
        src.seek(skip)
        while chunk := src.read(CHUNK):
            if len(chunk.translate(None, C1)) != len(chunk):
                return True
    return False


def _non_ascii_before(path: Path, skip: int, end: int) -> bool:
    with path.open("rb") as src:
        src.seek(skip)
        remaining = end - skip
        while remaining > 0 and (chunk := src.read(min(CHUNK, remaining))):
            if not chunk.isascii():
                return True
            remaining -= len(chunk)
    return False


_ASCII_BYTES = bytes(range(0x80))


def _french_score(data: bytes, encoding: str, errors: str) -> float:
    """Between -1 and 1: how much the non-ASCII letters of ``data``, read in the one-byte
    ``encoding``, look like French ones. Each byte from 0x80 is one such character: they are
    counted by byte (a few megabytes hold only dozens of distinct ones), the text never decoded."""
    high = data.translate(None, _ASCII_BYTES)
    good = bad = 0
    for byte in set(high):
        ch, count = bytes([byte]).decode(encoding, errors=errors), high.count(byte)
        if ch in FRENCH:
            good += count
        elif unicodedata.category(ch).startswith(("L", "S")) or unicodedata.category(ch) == "Cc":
            bad += count
    total = good + bad
    return 0.0 if total == 0 else (good - bad) / total


def _eight_bit(path: Path, skip: int) -> Encoding:
    # Bytes 0x80–0x9F anywhere in the file decide between Windows-1252 and Latin-1 (which
    # read 0xA0–0xFF alike); a few megabytes are plenty to score how French the text looks.
    data = _head(path, skip)
    best = "cp1252" if _has_c1(path, skip) else "latin-1"
    errors = WINDOWS_UNDEFINED if best == "cp1252" else "strict"
    best_score = _french_score(data, best, errors)
    # chardet is asked only when the French reading looks wrong: its guess decides nothing
    # otherwise, and it costs more than the rest of the detection on a large file.
    other = ""
    if best_score < 0:
        other = (chardet.detect(data[:SAMPLE]).get("encoding") or "").lower()
    if other and other not in ("ascii", "utf-8", "windows-1252", "iso-8859-1"):
        try:
            other = codecs.lookup(other).name
            text = data.decode(other)
        except (LookupError, UnicodeDecodeError):
            text = ""
        # Another script (Greek, Cyrillic…) wins only when French reading looks wrong.
        if text and not any(ch in text for ch in "čďűőŕĺ"):
            return Encoding(
                other, None, 0.6, f"lettres non latines ; détecté par chardet ({other})"
            )
    if best == "cp1252":
        reason = "octets 0x80–0x9F (€, ’, œ…) : Windows-1252"
    else:
        reason = "ISO-8859-1 (Windows-1252 se lirait pareil ici)"
    confidence = 0.9 if best_score >= 0.8 else 0.7 if best_score >= 0.3 else 0.4
    return Encoding(best, None, confidence, f"pas de l'UTF-8 ; {reason}", errors)


def _head(path: Path, skip: int) -> bytes:
    with path.open("rb") as src:
        src.seek(skip)
        return src.read(4 * CHUNK)


WIDE_SAMPLE = 64 * 1024
WIDE = {"utf-16": ("utf-16-le", "utf-16-be"), "utf-32": ("utf-32-le", "utf-32-be")}


def _wide(path: Path) -> str | None:
    """UTF-16 or UTF-32 without a BOM, told by where the NUL bytes of mostly-ASCII text fall.

    Every ASCII or Latin-1 character is one byte and one (UTF-16) or three (UTF-32) NUL bytes,
    always at the same places; text in any 8-bit encoding or UTF-8 has no NUL byte at all.
    """
    with path.open("rb") as src:
        head = src.read(WIDE_SAMPLE)
    quarters = len(head) // 4
    if quarters == 0:
        return None
    zero = [head[k : quarters * 4 : 4].count(0) / quarters for k in range(4)]
    if zero[2] > 0.9 and zero[3] > 0.9 and zero[0] < 0.1:
        return "utf-32-le"
    if zero[0] > 0.9 and zero[1] > 0.9 and zero[3] < 0.1:
        return "utf-32-be"
    even, odd = (zero[0] + zero[2]) / 2, (zero[1] + zero[3]) / 2
    if odd > 0.5 and even < 0.1:
        return "utf-16-le"
    if even > 0.5 and odd < 0.1:
        return "utf-16-be"
    return None


def detect_encoding(path: Path, override: str | None = None) -> Encoding:
    """The encoding of the file at ``path``; ``override`` is the person's choice, checked."""
    with path.open("rb") as src:
        head = src.read(4)
    bom = next((name for mark, name in BOMS if head.startswith(mark)), None)
    skip = next((len(mark) for mark, name in BOMS if name == bom), 0)
    if override:
        codec = codecs.lookup(override).name
        if codec == "utf-8-sig":  # the BOM, if any, is skipped already
            codec = "utf-8"
        if codec in WIDE:
            # The byte order is the BOM's, else the NUL bytes', else little-endian as Windows
            # writes it.
            orders = WIDE[codec]
            codec = next((o for o in (bom, _wide(path)) if o in orders), orders[0])
        ok, position = _decodes(path, codec, skip)
        if not ok:
            raise Unreadable(codec, position, "choisi mais illisible")
        errors = WINDOWS_UNDEFINED if codec == "cp1252" else "strict"
        return Encoding(codec, bom, 1.0, "choisi par la personne qui dépose", errors)
    if bom in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        ok, position = _decodes(path, bom, skip)
        if not ok:
            raise Unreadable(bom, position, "BOM UTF-16/32 mais contenu tronqué ou corrompu")
        return Encoding(bom, bom, 1.0, f"BOM {bom.upper()}")
    if bom is None and (wide := _wide(path)) is not None:
        ok, position = _decodes(path, wide, 0)
        if not ok:
            raise Unreadable(
                wide,
                position,
                f"sans BOM, des octets nuls réguliers disent {wide.upper()}, "
                "mais le contenu est tronqué ou corrompu",
            )
        return Encoding(
            wide, None, 0.95, f"sans BOM ; les octets nuls réguliers disent {wide.upper()}"
        )
    ok, position = _decodes(path, "utf-8", skip)
    if not ok and _non_ascii_before(path, skip, position):
        # Valid UTF-8 accents first, then bytes that are not: two encodings in one file. Any
        # single guess would garble part of it.
        raise Unreadable("utf-8", position, "UTF-8 mêlé à un autre encodage à partir d'ici")
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
    return data.decode(
        encoding.name, errors="replace" if encoding.errors == "strict" else encoding.errors
    )


def detect_dialect(text: str, override: str | None = None) -> Dialect:
    """The delimiter that splits ``text`` into the most consistent table."""
    crlf = text.count("\r\n")
    lf = text.count("\n") - crlf
    cr = text.count("\r") - crlf
    kinds = [name for name, n in (("crlf", crlf), ("lf", lf), ("cr", cr)) if n]
    endings = kinds[0] if len(kinds) == 1 else "mixte" if kinds else "aucune"
    if override:
        return Dialect(override, 1.0, endings, "choisi par la personne qui dépose")
    records = text
    if len(text) >= SAMPLE - 4:
        # The sample may stop inside a record: keep whole lines only.
        records = text[: max(text.rfind("\n"), text.rfind("\r")) + 1] or text
    best: tuple[float, int, int, str] | None = None
    for rank, delimiter in enumerate(DELIMITERS):
        if delimiter not in records:
            continue  # every row would be one cell: not worth reading the sample for
        rows = [r for r in csv.reader(io.StringIO(records, newline=""), delimiter=delimiter) if r]
        if not rows:
            continue
        # The width most rows share, so that a title line above the header does not decide.
        width, count = Counter(len(r) for r in rows).most_common(1)[0]
        if width < 2:
            continue
        # The most consistent split wins; between equally consistent ones, the delimiter least
        # likely to be text (tab, then `;`), not the one that makes the most columns.
        candidate = (count / len(rows), -rank, width, delimiter)
        best = candidate if best is None else max(best, candidate)
    if best is None:
        # One column: a delimiter that never occurs, so no cell is split.
        unused = next((d for d in DELIMITERS if d not in records), "\t")
        return Dialect(unused, 0.3, endings, "une seule colonne trouvée", 1)
    consistent, _, width, delimiter = best
    names = {",": "virgule", ";": "point-virgule", "\t": "tabulation", "|": "barre verticale"}
    return Dialect(
        delimiter,
        round(consistent, 2),
        endings,
        f"{names[delimiter]} : {width} colonnes, {consistent:.0%} des lignes ont ce nombre",
        width,
    )


def describe(encoding: Encoding, dialect: Dialect | None) -> dict[str, Any]:
    """What the report says about how the file was read."""
    body: dict[str, Any] = {"encoding": asdict(encoding)}
    if dialect is not None:
        body["dialect"] = asdict(dialect)
    return body
