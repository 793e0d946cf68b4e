"""What a ``unique`` field or the primary key remembers: for each value, the last row holding it.

frictionless keeps a dictionary of every value for the whole file, so its memory grows with
the number of distinct values (a national file's SIRET column: millions). Here the dictionary
holds up to ``IN_MEMORY`` values; past that, its values move to a SQLite file in the folder
of the file being checked, and each batch of rows is compared there: one lookup of the
batch's distinct values, then one write of what changed. The answers are the dictionary's:
values are written to disk in a form equal exactly where Python's ``==`` says they are equal
(``1.0`` and ``1.00`` are one number, ``-0`` is ``0``, ``NaN`` equals nothing). Values of
other kinds (times with zones, durations, points…) never leave the dictionary.
"""

import datetime
import itertools
import os
import sqlite3
import tempfile
from collections.abc import Hashable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

# How many values stay in the dictionary before they go to disk: about 40 MB of a process for
# short texts (a value, its row and their place in the dictionary: some 200 bytes).
IN_MEMORY = 200_000
# Host parameters per lookup (SQLite's limit is 32,766 since 3.32; old builds have 999).
_CHUNK = 900


class Unencodable(Exception):
    """A value of a kind whose equality this module does not write to disk."""


_never_equal = itertools.count()


def encode(value: Any) -> Any:
    """A SQLite value equal to another one exactly when the Python values are equal."""
    match value:
        case bool() | int():  # True == 1 == 1.0 == Decimal("1.00"), as in a dictionary
            return _finite(Decimal(int(value)))
        case str():
            return "s" + value
        case Decimal() | float():
            return _number(value)
        case datetime.datetime():
            raise Unencodable(value)
        case datetime.date():
            return "d" + value.isoformat()
        case tuple():
            parts = [str(encode(v)) for v in value]
            return "t" + "".join(f"{len(part)}:{part}" for part in parts)
        case None:
            return "n"
    raise Unencodable(value)


def _number(value: Decimal | float) -> str:
    if value != value:  # NaN: equal to nothing, not even itself
        return f"x{next(_never_equal)}"
    if value in (float("inf"), float("-inf")):  # a Decimal infinity too
        return "f+" if value > 0 else "f-"
    # A float is exactly a Decimal (0.1 is 0.1000000000000000055…), which compares alike.
    return _finite(value if isinstance(value, Decimal) else Decimal(value))


def _finite(value: Decimal) -> str:
    """Its digits without trailing zeros and its exponent: one spelling per number, exact
    (``normalize`` would round to the context's 28 digits), and cheap for ``1E+100000``."""
    if not value:
        return "z"  # 0, -0, 0E+5, 0.0: all equal
    sign, digits, exponent = value.as_tuple()
    text = "".join(map(str, digits)).rstrip("0")
    assert isinstance(exponent, int)
    return f"{'-' if sign else '+'}{text}e{exponent + len(digits) - len(text)}"


class Remembered:
    """The last row of each value seen, as a dictionary would keep it, with a bounded memory."""

    def __init__(self, folder: Path, name: str, *, in_memory: int | None = None) -> None:
        self._folder = folder
        self._name = name
        self._limit = IN_MEMORY if in_memory is None else in_memory
        self._values: dict[Hashable, int] = {}
        self._disk: sqlite3.Connection | None = None
        self._path: Path | None = None

    @property
    def spilled(self) -> bool:
        """Whether the values went to disk (still true once closed)."""
        return self._path is not None

    def remember(self, keys: list[Hashable], rows: list[int]) -> list[int | None]:
        """For each key in turn, the last row that held it before (None if none); each key
        then remembers its row."""
        if self._disk is None:
            values = self._values
            previous: list[int | None] = []
            for key, row in zip(keys, rows, strict=True):
                previous.append(values.get(key))
                values[key] = row
            if len(values) > self._limit:
                self._spill()
            return previous
        return self._remember_on_disk(keys, rows)

    def _spill(self) -> None:
        try:
            encoded = [(encode(k), row) for k, row in self._values.items()]
        except Unencodable:
            self._limit = len(self._values) * 2  # these values stay here; look again later
            return
        try:
            handle, name = tempfile.mkstemp(prefix=self._name, suffix=".sqlite", dir=self._folder)
        except OSError:  # a folder we may not write to (a caller's own file): the system's
            handle, name = tempfile.mkstemp(prefix=self._name, suffix=".sqlite")
        os.close(handle)
        self._path = Path(name)
        disk = sqlite3.connect(self._path, isolation_level=None)
        # A scratch file, thrown away after the check: nothing to make durable.
        disk.execute("PRAGMA journal_mode=OFF")
        disk.execute("PRAGMA synchronous=OFF")
        disk.execute("CREATE TABLE seen (value PRIMARY KEY, row INTEGER NOT NULL) WITHOUT ROWID")
        disk.execute("BEGIN")
        disk.executemany("INSERT INTO seen VALUES (?, ?)", encoded)
        disk.execute("COMMIT")
        self._disk = disk
        self._values = {}

    def _remember_on_disk(self, keys: list[Hashable], rows: list[int]) -> list[int | None]:
        assert self._disk is not None
        encoded = [encode(k) for k in keys]
        known = dict(self._lookup(set(encoded)))
        previous: list[int | None] = []
        changed: dict[Any, int] = {}
        for value, row in zip(encoded, rows, strict=True):
            previous.append(known.get(value))
            known[value] = changed[value] = row
        self._disk.execute("BEGIN")
        self._disk.executemany("INSERT OR REPLACE INTO seen VALUES (?, ?)", changed.items())
        self._disk.execute("COMMIT")
        return previous

    def _lookup(self, values: set[Any]) -> Iterable[tuple[Any, int]]:
        assert self._disk is not None
        wanted = list(values)
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            yield from self._disk.execute(
                f"SELECT value, row FROM seen WHERE value IN ({marks})",
                chunk,
            )

    def close(self) -> None:
        if self._disk is not None:
            self._disk.close()
            self._disk = None
        if self._path is not None:
            self._path.unlink(missing_ok=True)
