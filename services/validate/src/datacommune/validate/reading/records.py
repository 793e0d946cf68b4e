"""The records of a CSV file, measured before any reader holds one: its rows as the table sees
them, each perhaps over many lines of the file.

A quoted cell can carry one record over thousands of lines and megabytes. Python's csv reader
(and frictionless, which reads with it) builds each cell in a buffer of four bytes a character
that doubles as it grows, so a 50 MB cell cost about 250 MB at each reading of the file, and the
file is read three times. Here the records are found by one regular expression that follows the
csv module's rules — a quote opens a quoted cell only at the start of a cell, ``""`` inside it is
a quote, after the closing quote the cell goes on unquoted — over the UTF-8 copy's bytes, holding
at most one chunk and one record at a time. A record over ``MAX_RECORD_BYTES`` is refused before
anything reads the file as rows, so every later reading holds a bounded row.

The scan also notes each record whose width differs from the header's (its number and how many
cells it holds, 0 for an empty line): the columnar engine reads the well-formed records in
columns and needs to know where the others were (``validate/columnar``).
"""

from __future__ import annotations

import csv
import io
import re
from array import array
from dataclasses import dataclass, field
from pathlib import Path

CHUNK = 1024 * 1024
# The same bound as a line of the file: a record may span lines, not exceed what one may hold.
MAX_RECORD_BYTES = 1024 * 1024
# A real cell holds a few lines (an address, a comment); thousands mean a quote left open.
MAX_CELL_LINES = 1000
# What a record holds when it holds no value: separators, quotes, spaces, line breaks.
_NOTHING = b' \t\r\n"'


@dataclass(frozen=True)
class Span:
    """One record: its number (the header is 1), the line of the file it starts at, how many
    lines it spans and how many bytes it holds (at least, when ``whole`` is false)."""

    record: int
    line: int
    lines: int
    size: int
    whole: bool


@dataclass(frozen=True)
class Records:
    """What the scan found: the first record over a limit, else how the records look."""

    count: int
    largest: int
    filled: bool
    unclosed: Span | None = None
    oversized: Span | None = None
    # The delimiter the records were read with.
    delimiter: str = ","
    # Records (the header is 1) whose number of cells is not the header's, and that number.
    odd: array[int] = field(default_factory=lambda: array("q"))
    odd_widths: array[int] = field(default_factory=lambda: array("q"))


def _pattern(delimiter: str) -> re.Pattern[bytes]:
    d = re.escape(delimiter.encode())
    # Possessive quantifiers: a quote left open fails in one pass, without backtracking.
    field = rb'(?:"(?:[^"]++|"")*+"[^D\r\n]*+|[^D"\r\n][^D\r\n]*+|)'.replace(b"D", d)
    return re.compile(field + rb"(?:" + d + field + rb")*+(?:\r\n|\r|\n)")


def _lines(data: bytes, start: int, end: int) -> int:
    """How many lines of the file ``data[start:end]`` spans, its own line break aside."""
    if data.endswith(b"\r\n", start, end):
        end -= 2
    elif data.endswith((b"\n", b"\r"), start, end):
        end -= 1
    if data.find(b"\r", start, end) < 0:
        return 1 + data.count(b"\n", start, end)
    crlf = data.count(b"\r\n", start, end)
    return 1 + data.count(b"\n", start, end) + data.count(b"\r", start, end) - crlf


def _width(data: bytes, start: int, stop: int, delimiter: bytes, quoted: bool) -> int:
    """How many cells the record ``data[start:stop]`` (line break included) holds, as the csv
    module reads it: none for an empty line."""
    if data[start:stop].strip(b"\r\n") == b"":
        return 0
    if not quoted:
        return data.count(delimiter, start, stop) + 1
    text = data[start:stop].decode("utf-8", "replace")
    return len(next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter.decode())))


_LONE_CR = re.compile(rb"\r(?!\n)")


def _quote_free_end(data: bytes, start: int) -> tuple[int, int]:
    """Where the complete lines from ``start`` that hold no quote end, and from where to try
    again when there are none (the record pattern reads those: a quote, or old Mac « \r »
    line ends), so that no record searches the rest of the chunk again."""
    quote = data.find(b'"', start)
    end = data.rfind(b"\n", start, len(data) if quote < 0 else quote) + 1
    if end <= start:  # no line feed before the next quote
        return start, quote + 1 if quote >= 0 else len(data)
    if lone := _LONE_CR.search(data, start, end):
        return start, lone.end()
    return end, end


def scan(path: Path, delimiter: str, *, chunk_size: int = CHUNK) -> Records:
    """Measure the records of the UTF-8 file at ``path``; stop at the first one over a limit."""
    record = _pattern(delimiter)
    nothing = _NOTHING + delimiter.encode()
    separator = delimiter.encode()
    odd, odd_widths = array("q"), array("q")
    header = -1
    count = largest = 0
    line = 1
    filled = False
    buffer = b""
    with path.open("rb") as src:
        while True:
            chunk = src.read(chunk_size)
            end_of_file = not chunk
            buffer += chunk
            if end_of_file and buffer and buffer[-1:] not in (b"\n", b"\r"):
                buffer += b"\n"  # the last record may lack its line break
            position = 0
            bulk_from = 0  # where lines may next be taken in bulk
            # Anchored matches, one record after another: no match is a quote still open
            # at the end of the buffer.
            while True:
                # Lines without a quote are records one to one: taken in bulk.
                plain = position
                if position >= bulk_from:
                    plain, bulk_from = _quote_free_end(buffer, position)
                if plain > position:
                    rows = buffer[position:plain].split(b"\n")[:-1]
                    longest = max(map(len, rows)) + 1
                    if longest <= MAX_RECORD_BYTES:
                        widths = [r.count(separator) + 1 if r.strip(b"\r") else 0 for r in rows]
                        if header < 0:
                            header = widths[0]
                        if widths.count(header) != len(widths):
                            for i, width in enumerate(widths):
                                if width != header and count + i > 0:
                                    odd.append(count + 1 + i)
                                    odd_widths.append(width)
                        filled = filled or bool(buffer[position:plain].translate(None, nothing))
                        count, line = count + len(rows), line + len(rows)
                        largest = max(largest, longest)
                        position = plain
                if not (match := record.match(buffer, position)):
                    break
                stop = match.end()
                if stop == len(buffer) and not end_of_file:
                    break  # a record ending the buffer on « \r » may go on with « \n »
                count += 1
                size = stop - position
                quoted = buffer.find(b'"', position, stop) >= 0
                lines = _lines(buffer, position, stop) if quoted else 1
                span = Span(count, line, lines, size, True)
                if lines > MAX_CELL_LINES:
                    return Records(count - 1, largest, filled, unclosed=span)
                if size > MAX_RECORD_BYTES:
                    return Records(count - 1, largest, filled, oversized=span)
                largest = max(largest, size)
                filled = filled or bool(buffer[position:stop].translate(None, nothing))
                width = _width(buffer, position, stop, separator, quoted)
                if header < 0:
                    header = width
                elif width != header:
                    odd.append(count)
                    odd_widths.append(width)
                line += lines
                position = stop
            if rest := len(buffer) - position:
                # A record not ended yet: already past a limit, or running to the end of the
                # file because its quote never closes.
                lines = _lines(buffer, position, len(buffer))
                span = Span(count + 1, line, lines, rest, end_of_file)
                if lines > MAX_CELL_LINES or (end_of_file and lines > 1):
                    return Records(count, largest, filled, unclosed=span)
                if rest > MAX_RECORD_BYTES:
                    return Records(count, largest, filled, oversized=span)
            if end_of_file:
                if rest:  # one line with an open quote: the reader takes it as one cell
                    count, largest = count + 1, max(largest, rest)
                    filled = filled or bool(buffer[position:].translate(None, nothing))
                    # Its width is the reader's guess: -1, which the columnar engine leaves to
                    # frictionless.
                    odd.append(count)
                    odd_widths.append(-1)
                return Records(
                    count, largest, filled, delimiter=delimiter, odd=odd, odd_widths=odd_widths
                )
            buffer = buffer[position:]
