"""Conditional and partial requests on stored files (RFC 9110 §13–14): ``If-None-Match`` → 304,
one ``Range`` → 206, a range past the end → 416; what download managers, browsers resuming a
download and columnar readers over HTTP (pyarrow, DuckDB's httpfs) send.

A file's ETag is its SHA-256, so it is strong and never changes for a version.
"""

import re
from dataclasses import dataclass

from datacommune.shared.problems import Problem

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class RangeNotSatisfiable(Problem):
    type = "/problems/range-not-satisfiable"
    title = "Plage d'octets hors du fichier"
    title_en = "Range not satisfiable"
    status = 416


@dataclass(frozen=True)
class Part:
    """Bytes ``start`` to ``end`` included, of a file of ``size`` bytes."""

    start: int
    end: int
    size: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end}/{self.size}"


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """Whether the client's copy is this file (weak comparison, as §13.1.2 asks for GET)."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


def part(range_header: str | None, if_range: str | None, etag: str, size: int) -> Part | None:
    """The part asked for, or None for the whole file: no ``Range``, one the server may ignore
    (several ranges, another unit, bad syntax) or an ``If-Range`` naming another version.
    Raises ``RangeNotSatisfiable`` for a range wholly past the end."""
    if not range_header or (if_range is not None and if_range.strip() != etag):
        return None
    found = _RANGE.fullmatch(range_header.strip())
    if found is None:
        return None  # several ranges or another unit: the whole file is a valid answer
    first, last = found.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        wanted = int(last)
        if wanted == 0 or size == 0:
            raise _unsatisfiable(size)
        return Part(max(0, size - wanted), size - 1, size)
    start = int(first)
    if start >= size:
        raise _unsatisfiable(size)
    end = min(int(last), size - 1) if last else size - 1
    if end < start:
        return None  # invalid: ignored
    return Part(start, end, size)


def _unsatisfiable(size: int) -> RangeNotSatisfiable:
    problem = RangeNotSatisfiable(
        f"La plage demandée commence après la fin du fichier ({size} octets). Demandez une "
        "plage à l'intérieur du fichier, ou le fichier entier sans en-tête « Range ».",
        f"The range asked for starts past the end of the file ({size} bytes). Ask for a range "
        "inside the file, or for the whole file without a 'Range' header.",
    )
    problem.headers["Content-Range"] = f"bytes */{size}"
    return problem
