"""Safe repairs: what can be corrected without guessing, each change listed cell by cell.

Safe means the intended value is certain: the encoding and delimiter the file was read with, a
BOM, padding spaces, trailing empty rows and columns, and — in columns the schema types — a
decimal comma or thousands separators in a number, a jj/mm/aaaa date, a oui/non boolean; in text
columns, a value that matches exactly one allowed value but for case and accents, and a
jj/mm/aaaa date or a period joined by « _ » where the schema's pattern asks for ISO. Anything
that would need a guess stays as it is and stays reported: « 1,500 » (one and a half, or fifteen
hundred?), a SIRET a spreadsheet wrote as 2,43E+13 (its digits are gone), a US-style date.
"""

import csv
import io
import itertools
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from datacommune.validate.reading import transcoding
from datacommune.validate.reading.sniff import Dialect, Encoding
from datacommune.validate.registry import SchemaEntry

if TYPE_CHECKING:
    from datacommune.validate.columnar.untouched import Untouched

TRUE_WORDS = {"oui", "vrai", "yes", "true", "o", "y", "1"}
FALSE_WORDS = {"non", "faux", "no", "false", "n", "0"}
SPACES = " \u00a0\u202f"
# What is stripped from every cell (a padding change).
PADDING = " \t\u00a0\u202f"
_GROUPED = re.compile(r"^-?\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:,\d+)?$")
_DOTTED = re.compile(r"^-?\d{1,3}(?:\.\d{3})+,\d+$")
_COMMA_DECIMAL = re.compile(r"^-?\d+,(\d+)$")
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_YMD = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$")
# Two dates joined by something else than the ISO 8601 interval's « / », both written the same
# way: ISO, jj/mm/aaaa or aaaa/mm/jj (a mix is not guessed).
_ISO = r"\d{4}-\d{2}-\d{2}"
_SLASHED_DMY = r"\d{1,2}/\d{1,2}/\d{4}"
_SLASHED_YMD = r"\d{4}/\d{1,2}/\d{1,2}"
_JOIN = r"\s*(?:_|;|\s-\s|\sau\s)\s*"
_PERIODS = [
    re.compile(rf"^({form}){_JOIN}({form})$") for form in (_ISO, _SLASHED_DMY, _SLASHED_YMD)
]

# What each kind of change is called in the list a person reads.
KINDS = {
    "spaces": "espaces autour de la valeur retirés",
    "number": "nombre écrit à l'anglaise (point décimal, sans séparateur de milliers)",
    "date": "date mise au format AAAA-MM-JJ",
    "boolean": "valeur oui/non écrite comme le schéma l'attend",
    "period": "période écrite AAAA-MM-JJ/AAAA-MM-JJ, comme le schéma l'attend",
    "enum": "valeur écrite exactement comme dans la liste du schéma (majuscules, accents)",
    "text-date": "date mise au format AAAA-MM-JJ que le modèle du schéma demande",
    "empty-row": "ligne vide en fin de fichier retirée",
    "empty-column": "colonne vide et sans nom retirée",
    "header": "colonne renommée selon la correspondance confirmée",
}


@dataclass(frozen=True)
class Change:
    """One altered cell, or one removed row or column."""

    kind: str
    row: int | None = None
    column: int | None = None
    field: str | None = None
    before: str | None = None
    after: str | None = None


SAMPLE = 1000


@dataclass
class Repair:
    """A repaired file and everything that was done to it.

    A large file can have millions of changes: the full list streams to ``log`` (JSON lines)
    and only the first ``SAMPLE`` stay in memory for the report.
    """

    log: TextIO
    file: list[str] = field(default_factory=list)
    sample: list[Change] = field(default_factory=list)
    counter: Counter[str] = field(default_factory=Counter)
    # The last row kept (those after it were empty), and whether the header itself changed.
    last_row: int = 0
    header_changed: bool = False

    def add(self, change: Change) -> None:
        self.counter[change.kind] += 1
        if len(self.sample) < SAMPLE:
            self.sample.append(change)
        # ``vars``, not ``asdict``: the fields are plain values, and asdict copies each deeply.
        self.log.write(json.dumps(vars(change), ensure_ascii=False) + "\n")

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.counter)

    @property
    def total(self) -> int:
        return sum(self.counter.values())

    def describe(self) -> dict[str, Any]:
        """What the report says of the repair: counts, file-level changes, the first changes."""
        return {
            "file": self.file,
            "counts": self.counts,
            "kinds": {k: KINDS[k] for k in self.counter},
            "changes": [asdict(c) for c in self.sample],
            "changes_total": self.total,
        }


def write_document(repair: Repair, log: Path, target: Path) -> None:
    """The full change list as one JSON document, streamed from the log to ``target``."""
    head = {k: v for k, v in repair.describe().items() if k != "changes"}
    with log.open(encoding="utf-8") as src, target.open("w", encoding="utf-8") as out:
        out.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "changes": [')
        for number, line in enumerate(src):
            out.write(("," if number else "") + line.rstrip("\n"))
        out.write("]}")


def read_log(path: Path) -> list[Change]:
    """Every change of a repair, from its JSON-lines log."""
    with path.open(encoding="utf-8") as src:
        return [Change(**json.loads(line)) for line in src]


def repair_number(text: str, integer: bool) -> str | None:
    """``26 956,00`` → ``26956.00``; None when the reading is not certain."""
    value = text
    if _GROUPED.match(value):
        value = "".join(ch for ch in value if ch not in SPACES)
        value = value.replace(",", ".")
    elif _DOTTED.match(value):
        value = value.replace(".", "").replace(",", ".")
    elif (m := _COMMA_DECIMAL.match(value)) and len(m.group(1)) != 3:
        # « 0,5 » or « 100000,10 »; « 1,500 » could be either, and is left alone.
        value = value.replace(",", ".")
    else:
        return None
    if integer:
        if not re.fullmatch(r"-?\d+(?:\.0+)?", value):
            return None
        value = value.split(".")[0]
    return value if value != text else None


def repair_date(text: str) -> str | None:
    """``05/12/2016`` (jour/mois/année) or ``2017/09/08`` → ISO; None if not a real date."""
    if m := _DMY.match(text):
        day, month, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
    elif m := _YMD.match(text):
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        return None
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def repair_boolean(text: str, spec: dict[str, Any]) -> str | None:
    """« Oui » → the schema's own word for true (``oui``, ``true``…)."""
    true_values = spec.get("trueValues") or ["true", "True", "TRUE", "1"]
    false_values = spec.get("falseValues") or ["false", "False", "FALSE", "0"]
    if text in true_values or text in false_values:
        return None
    word = text.lower()
    if word in TRUE_WORDS:
        return str(true_values[0])
    if word in FALSE_WORDS:
        return str(false_values[0])
    return None


def repair_period(text: str, pattern: str) -> str | None:
    """``2018-01-01_2018-03-31`` or ``2018/01/30_2022/01/29`` → ``2018-01-01/2018-03-31``,
    only where the schema's pattern wants the latter and refuses the former, and both are real
    dates written the same way."""
    if re.fullmatch(pattern, text):
        return None
    m = next((found for p in _PERIODS if (found := p.match(text))), None)
    if m is None:
        return None
    start, end = (_iso(m.group(1)), _iso(m.group(2)))
    if start is None or end is None:
        return None
    fixed = f"{start}/{end}"
    return fixed if re.fullmatch(pattern, fixed) else None


def _iso(text: str) -> str | None:
    """An ISO date as it is, else the repaired jj/mm/aaaa or aaaa/mm/jj; None if not a date."""
    try:
        return date.fromisoformat(text).isoformat() if "-" in text else repair_date(text)
    except ValueError:
        return None


def repair_text_date(text: str, pattern: str) -> str | None:
    """``05/12/2016`` → ``2016-12-05`` in a text field, only where the schema's pattern refuses
    the former and accepts the latter (a date kept as text with an ISO pattern)."""
    if re.fullmatch(pattern, text):
        return None
    fixed = repair_date(text)
    return fixed if fixed is not None and re.fullmatch(pattern, fixed) else None


def folded(text: str) -> str:
    """Without case, accents or repeated spaces: « Aide en Numéraire » ~ « aide en numeraire »."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(plain.casefold().split())


def repair_enum(text: str, allowed: list[Any]) -> str | None:
    """``Aide en numéraire`` → ``aide en numéraire`` when exactly one allowed value differs from
    it only by case, accents or spaces; None when none does, or several would."""
    if text in allowed:
        return None
    matching = {str(v) for v in allowed if isinstance(v, str) and folded(v) == folded(text)}
    return matching.pop() if len(matching) == 1 else None


def _repair_cell(text: str, spec: dict[str, Any] | None) -> tuple[str, str] | None:
    if spec is None:
        return None
    constraints = spec.get("constraints") or {}
    pattern = constraints.get("pattern")
    if spec.get("type", "string") == "string" and isinstance(constraints.get("enum"), list):
        fixed = repair_enum(text, constraints["enum"])
        return (fixed, "enum") if fixed is not None else None
    if spec.get("type", "string") == "string" and pattern:
        try:
            if (fixed := repair_period(text, pattern)) is not None:
                return fixed, "period"
            fixed = repair_text_date(text, pattern)
        except re.error:
            return None
        return (fixed, "text-date") if fixed is not None else None
    match spec.get("type"):
        case "number" | "integer":
            fixed = repair_number(text, spec.get("type") == "integer")
            return (fixed, "number") if fixed is not None else None
        case "date" if spec.get("format", "default") == "default":
            fixed = repair_date(text)
            return (fixed, "date") if fixed is not None else None
        case "boolean":
            fixed = repair_boolean(text, spec)
            return (fixed, "boolean") if fixed is not None else None
    return None


def _text(path: Path, encoding: Encoding) -> TextIO:
    handle = path.open("rb")
    handle.seek(encoding.skip)
    return io.TextIOWrapper(handle, encoding=encoding.name, errors=encoding.errors, newline="")


def _reader(path: Path, encoding: Encoding, dialect: Dialect) -> Any:
    text = _text(path, encoding)
    return text, csv.reader(text, delimiter=dialect.delimiter)


class RowWriter:
    """Rows as Python's csv writer writes them (``,``, ``\\n``), but that a row with a CR in a
    cell has every cell quoted: with ``\\n`` ending records, the writer leaves a CR bare, and
    a reader takes it for the end of the record (the cell would be cut in two, or lose it)."""

    def __init__(self, out: TextIO) -> None:
        self._plain = csv.writer(out, lineterminator="\n")
        self._quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)

    def writerow(self, row: list[str]) -> None:
        (self._quoted if "\r" in "".join(row) else self._plain).writerow(row)


class _Lines:
    """A text's lines, some of which can be given back to be read again (by a csv reader over
    them, which takes a line only when its record needs one)."""

    def __init__(self, text: TextIO) -> None:
        self._text = text
        self.back: list[str] = []  # the next lines, last first

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        if self.back:
            return self.back.pop()
        return next(self._text)

    def take(self, count: int) -> list[str]:
        """The next ``count`` lines (fewer at the end)."""
        taken = [self.back.pop() for _ in range(min(count, len(self.back)))]
        return taken + list(itertools.islice(self._text, count - len(taken)))

    def give_back(self, lines: list[str]) -> None:
        self.back.extend(reversed(lines))


def _as_written(lines: list[str], delimiter: str) -> str | None:
    """What Python's csv writer (``,``, ``\\n``) writes of these lines, each one record, without
    reading them as records: the lines with ``,`` for ``delimiter`` and ``\\n`` endings, when
    no cell holds a quote or a comma (which it would quote) and no line is empty (an empty
    record); None otherwise."""
    block = "".join(lines)
    if '"' in block or (delimiter != "," and "," in block):
        return None
    if delimiter != ",":
        block = block.replace(delimiter, ",")
    # Without quotes, a CR can only end a line (the text splits lines at CR, LF and CRLF).
    if "\r" in block:
        block = block.replace("\r\n", "\n").replace("\r", "\n")
    if not block.endswith("\n"):
        block += "\n"  # the last line of the file
    if "\n\n" in block or block.startswith("\n"):
        return None
    return block


class NotSafe(Exception):
    """The file's text, encoded back, does not give its bytes: rewriting it would lose some."""


def repair(
    path: Path,
    *,
    encoding: Encoding,
    dialect: Dialect,
    schema: SchemaEntry | None,
    target: Path,
    log: TextIO,
    mapping: dict[str, str] | None = None,
    untouched: "Untouched | None" = None,
    changed: Callable[[int, list[str]], None] | None = None,
) -> Repair:
    """Write the repaired file to ``target`` (UTF-8, ``,``) and every change made to ``log``.

    ``untouched`` (``columnar.untouched``) names the rows that may change: the others are
    copied as read, and when every column and the last row are filled, the first pass is
    skipped. ``changed`` is given the header, then each row a cell of which changed, with its
    number and its repaired cells. Raises ``NotSafe`` if reading the file in ``encoding`` does
    not round-trip byte for byte.
    """
    lossless = encoding.lossless
    if lossless is None:
        lossless = transcoding.round_trips(path, encoding)
    if not lossless:
        raise NotSafe(f"{encoding.name} does not round-trip")
    result = Repair(log)
    if encoding.name != "utf-8":
        result.file.append(f"encodage {encoding.name} → utf-8")
    if encoding.bom:
        result.file.append("BOM retiré")
    if dialect.delimiter != ",":
        result.file.append(f"séparateur « {dialect.delimiter} » → « , »")
    fields = {f["name"]: f for f in (schema.descriptor.get("fields", []) if schema else [])}

    # First pass: the columns that are empty everywhere and have no name, and the last row
    # that holds anything.
    handle, rows = _reader(path, encoding, dialect)
    with handle:
        header: list[str] = next(rows, [])
        width = len(header)
        filled = [bool(h.strip()) for h in header]
        last_filled = 1
        if untouched is not None and untouched.filled:
            # Every column holds a value and the last row is filled: nothing to remove.
            rows, filled, last_filled = iter(()), [True] * width, untouched.rows
        for number, row in enumerate(rows, start=2):
            if any(cell.strip() for cell in row):
                last_filled = number
            for i, cell in enumerate(row[:width]):
                if not filled[i] and cell.strip():
                    filled[i] = True
    result.last_row = last_filled
    keep = [i for i in range(width) if filled[i]]
    for i in range(width):
        if not filled[i]:
            result.add(Change("empty-column", column=i + 1))

    handle = _text(path, encoding)
    with handle, target.open("w", encoding="utf-8", newline="") as out:
        writer = RowWriter(out)
        lines = _Lines(handle)
        rows = csv.reader(lines, delimiter=dialect.delimiter)
        names: list[str] = []
        # Rows the bulk reading cleared are copied as read (nothing in them would change).
        copying = untouched is not None and len(keep) == width and not mapping
        looked_at = sorted(untouched.to_look_at) if untouched is not None else []
        next_look = 0  # in ``looked_at``, the first row not yet passed
        # The rows up to ``plain_until`` are copied record by record.
        plain_until = 0
        number = 0
        while True:
            number += 1
            if (
                copying
                and untouched is not None
                and 1 < number <= last_filled
                and number not in untouched.to_look_at
            ):
                if number > plain_until:
                    # The rows until the next one to look at: copied a block at a time when
                    # every line of it is a record the writer would write alike.
                    while next_look < len(looked_at) and looked_at[next_look] < number:
                        next_look += 1
                    upto = looked_at[next_look] if next_look < len(looked_at) else last_filled + 1
                    block = lines.take(min(upto, last_filled + 1) - number)
                    if not block:
                        break
                    if (plain := _as_written(block, dialect.delimiter)) is not None:
                        out.write(plain)
                        number += len(block) - 1
                        continue
                    lines.give_back(block)  # read as records: quotes, perhaps over lines
                    plain_until = number + len(block) - 1
                row = next(rows, None)
                if row is None:
                    break
                writer.writerow(row)
                continue
            row = next(rows, None)
            if row is None:
                break
            if number > last_filled:
                if number > 1:
                    result.add(Change("empty-row", row=number))
                continue
            # Each kept cell with its column number in the original file (1-based).
            cells = [(i + 1, row[i] if i < len(row) else None) for i in keep]
            cells += [(width + j + 1, cell) for j, cell in enumerate(row[width:])]
            fixed_row = []
            touched = False
            for position, (column, cell) in enumerate(cells):
                if cell is None:  # a short row stays short: that is reported, not invented
                    continue
                name = names[position] if number > 1 and position < len(names) else None
                value = cell
                stripped = value.strip(PADDING)
                if stripped != value:
                    result.add(Change("spaces", number, column, name, value, stripped))
                    value, touched = stripped, True
                if number == 1 and mapping and value in mapping and mapping[value] != value:
                    result.add(Change("header", 1, column, None, value, mapping[value]))
                    value, touched = mapping[value], True
                if number > 1 and name is not None and value:
                    if fixed := _repair_cell(value, fields.get(name)):
                        result.add(Change(fixed[1], number, column, name, value, fixed[0]))
                        value, touched = fixed[0], True
                fixed_row.append(value)
            if changed is not None and (touched or number == 1):
                changed(number, fixed_row)
            if number == 1:
                result.header_changed = touched
                names = fixed_row
                # The bulk reading judged each column by this name: it must be the same.
                copying = copying and names == untouched.labels  # type: ignore[union-attr]
            writer.writerow(fixed_row)
    return result
