"""The UTF-8 copy frictionless reads, and what making it learns of the text on the way.

One pass over the file decodes it, writes it as UTF-8, encodes each piece back to compare it
with the bytes it came from (a reading that loses nothing can be rewritten safely), and stops at
the first NUL character (no text holds one).
"""

import codecs
from dataclasses import dataclass
from pathlib import Path

from datacommune.validate.reading.sniff import CHUNK, WINDOWS_UNDEFINED, Encoding, Unreadable


@dataclass(frozen=True)
class Transcoded:
    """What copying the file as UTF-8 learnt of its text."""

    # The text, encoded back, gives the very bytes of the file: the reading loses nothing.
    lossless: bool
    # The line of the first NUL character: no text holds one, so the file is not text. The
    # copy stops there.
    nul_line: int | None


class _RoundTrip:
    """Encodes each piece of decoded text back and compares it with the bytes it came from."""

    def __init__(self, encoding: Encoding) -> None:
        self._encoder = codecs.getincrementalencoder(encoding.name)(errors=encoding.errors)
        # Bytes read but not yet given back: a character cut between two chunks.
        self._pending = b""
        self.lossless = True
        # Strict UTF-8 and ISO-8859-1 read back to the very bytes they read: nothing to compare
        # (the other encodings may map some bytes to nothing, or two byte runs to one text).
        self._exact = _exact(encoding)

    def feed(self, chunk: bytes, text: str) -> None:
        if self.lossless and not self._exact:
            self._pending += chunk
            back = self._encoder.encode(text, final=not chunk)
            self.lossless = self._pending.startswith(back)
            self._pending = self._pending[len(back) :]
            if not chunk:
                self.lossless = self.lossless and not self._pending


def round_trips(path: Path, encoding: Encoding) -> bool:
    """Whether the whole file, decoded and encoded back, gives the very same bytes."""
    decoder = codecs.getincrementaldecoder(encoding.name)(errors=encoding.errors)
    check = _RoundTrip(encoding)
    with path.open("rb") as src:
        src.seek(encoding.skip)
        while True:
            chunk = src.read(CHUNK)
            try:
                check.feed(chunk, decoder.decode(chunk, final=not chunk))
            except UnicodeDecodeError:
                return False
            if not chunk:
                return check.lossless


def transcode(path: Path, encoding: Encoding, target: Path) -> Transcoded:
    """Write the file as UTF-8 without BOM, streaming; the cells are unchanged.

    Raises ``Unreadable`` where a byte does not decode (an encoding guessed from a sample).
    Where a NUL character is found, the copy stops before it (and the file is refused).
    """
    decoder = codecs.getincrementaldecoder(encoding.name)(errors=encoding.errors)
    check = _RoundTrip(encoding)
    # A UTF-8 file is its own copy, its BOM aside: its bytes are written as they were read.
    as_read = encoding.name == "utf-8" and encoding.errors == "strict"
    offset = encoding.skip
    with path.open("rb") as src, target.open("wb") as out:
        src.seek(encoding.skip)
        while True:
            chunk = src.read(CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                raise Unreadable(encoding.name, offset + exc.start, "octet illisible") from exc
            if (nul := text.find("\0")) >= 0:
                # (A UTF-8 NUL is the byte 0, never part of another character.)
                out.write(chunk[: chunk.find(b"\0")] if as_read else text[:nul].encode())
                out.close()
                return Transcoded(check.lossless, _lines(target))
            out.write(chunk if as_read else text.encode())
            check.feed(chunk, text)
            if not chunk:
                return Transcoded(check.lossless, None)
            offset += len(chunk)


def _exact(encoding: Encoding) -> bool:
    """Whether the encoding, as read, gives back the very bytes it read: strict UTF-8 and
    ISO-8859-1, and Windows-1252, whose 256 bytes each read as a character of their own (its
    five unassigned ones as their code points, WINDOWS_UNDEFINED), or not at all (strict)."""
    name = codecs.lookup(encoding.name).name
    if name == "cp1252":
        return encoding.errors in ("strict", WINDOWS_UNDEFINED)
    return encoding.errors == "strict" and name in ("utf-8", "iso8859-1")


def _lines(copy: Path) -> int:
    """The line of the file's first NUL character, the copy holding all the text before it:
    counted only then (no text holds a NUL), from the copy's line breaks."""
    breaks = 0
    cr_before = False
    with copy.open("rb") as src:
        while chunk := src.read(CHUNK):
            # A CRLF cut between two chunks is one line break, not two.
            breaks += chunk.count(b"\n") + chunk.count(b"\r") - chunk.count(b"\r\n")
            breaks -= chunk[:1] == b"\n" and cr_before
            cr_before = chunk[-1:] == b"\r"
    return breaks + 1
