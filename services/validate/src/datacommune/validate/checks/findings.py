"""What frictionless keeps of each finding while it reads: small, whatever the rows.

frictionless keeps every finding until the end of the file, and each finding about a row keeps a
copy of the list of the row's cells, holding every cell of that row alive: a hundred rows of one
megabyte, each with one finding, kept a hundred megabytes (twice: the list, and frictionless's
copy of it as the attribute's « default »). Its message and its ``cell`` repeat
the value whole, then travel in the report and in the ``file.validated`` event. So each finding is
trimmed as frictionless collects it: no row, and no value longer than ``MAX_CELL_CHARS``.
"""

from typing import Any

import attrs
from frictionless import Checklist, Error, errors

MAX_CELL_CHARS = 300
# Findings located in a row or the header; any other leaves the file unread as a table.
_LOCATED = (errors.RowError, errors.HeaderError)


def as_found(error: Error) -> dict[str, Any]:
    """A frictionless finding as the report holds it."""
    return {
        # frictionless's bare « error » is a table it could not read (e.g. repeated labels).
        "type": "source-error" if error.type == "error" else error.type,
        "message": error.message,
        "row": getattr(error, "row_number", None),
        "field": getattr(error, "field_name", None) or getattr(error, "label", None) or None,
        "cell": getattr(error, "cell", None),
        "note": getattr(error, "note", None) or None,
        "fatal": not isinstance(error, _LOCATED),
    }


def trim(error: Error) -> None:
    """Drop the row a finding holds, and shorten the value it quotes."""
    if isinstance(error, errors.RowError):
        error.cells = []
        # frictionless's metadata keeps a second copy of every list given at creation.
        error.metadata_defaults["cells"] = []
    cell: Any = getattr(error, "cell", None)
    if isinstance(cell, str) and len(cell) > MAX_CELL_CHARS:
        short = f"{cell[:MAX_CELL_CHARS]}…"
        error.message = error.message.replace(cell, short, 1)
        error.cell = short


@attrs.define(kw_only=True, repr=False)
class TrimmingChecklist(Checklist):
    """A checklist that trims each finding as frictionless keeps it (``match`` sees them all)."""

    def match(self, error: Error) -> bool:
        trim(error)
        return bool(super().match(error))
