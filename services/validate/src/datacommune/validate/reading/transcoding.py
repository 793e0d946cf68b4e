"""The UTF-8 copy frictionless reads, and what making it learns of the text on the way.

One pass over the file decodes it, writes it as UTF-8, encodes each piece back to compare it
with the bytes it came from (a reading that loses nothing can be rewritten safely), and stops at
the first NUL character (no text holds one).
"""

import codecs
from dataclasses import dataclass
from pathlib import Path

from datacommune.validate.reading.sniff import CHUNK, Encoding, Unreadable


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
        # ISO-8859-1 reads each byte as the character of the same number, and back: nothing to
        # compare (the other encodings map some bytes to nothing, or two bytes to one text).
        self._bijective = (
            codecs.lookup(encoding.name).name == "iso8859-1" and encoding.errors == "strict"
        )

    def feed(self, chunk: bytes, text: str) -> None:
        if self.lossless and not self._bijective:
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
    if encoding.name == "utf-8" and encoding.errors == "strict":
        return _copy_utf8(path, encoding.skip, target)
    decoder = codecs.getincrementaldecoder(encoding.name)(errors=encoding.errors)
    check = _RoundTrip(encoding)
    offset = encoding.skip
    with path.open("rb") as src, target.open("w", encoding="utf-8", newline="") as out:
        src.seek(encoding.skip)
        while True:
            chunk = src.read(CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                raise Unreadable(encoding.name, offset + exc.start, "octet illisible") from exc
            if (nul := text.find("\0")) >= 0:
                out.write(text[:nul])
                out.close()
                return Transcoded(check.lossless, _lines(target))
            out.write(text)
            check.feed(chunk, text)
            if not chunk:
                return Transcoded(check.lossless, None)
            offset += len(chunk)


def _copy_utf8(path: Path, skip: int, target: Path) -> Transcoded:
    """A UTF-8 file is its own copy, its BOM aside: its bytes are written as they are, once
    the decoder has accepted them. Strict UTF-8 reads back to the very same bytes, and its only
    NUL byte is the NUL character, so both are learnt from the bytes."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    offset = skip
    with path.open("rb") as src, target.open("wb") as out:
        src.seek(skip)
        while True:
            chunk = src.read(CHUNK)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                raise Unreadable("utf-8", offset + exc.start, "octet illisible") from exc
            if (nul := chunk.find(b"\0")) >= 0:
                out.write(chunk[:nul])
                out.close()
                return Transcoded(True, _lines(target))
            if not chunk:
                return Transcoded(True, None)
            out.write(chunk)
            offset += len(chunk)


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
