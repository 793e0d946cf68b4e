"""JSON data files, read as a table: a list of objects (one per row) or a list of lists.

A JSON file is parsed here as data, never handed to frictionless, which would take it for a
descriptor and open the paths and URLs it names. It is converted to a UTF-8 CSV and checked as
one. JSON must be parsed whole, so its size is capped, and so is its depth: Python's parser
recurses once a level and gives up near a thousand, deeper still would exhaust a thread's stack.
"""

import csv
import json
from pathlib import Path
from typing import Any

MAX_BYTES = 64 * 1024 * 1024
# A table is two levels (a list of rows), three under « data »; a cell may hold a GeoJSON
# geometry (four more). Far below where the parser gives up.
MAX_DEPTH = 64


class NotATable(Exception):
    """The JSON is valid but not one of the table shapes."""


class TooDeep(Exception):
    """The JSON nests lists or objects deeper than ``MAX_DEPTH``."""


def _depth(value: Any) -> int:
    """How deep lists and objects nest in ``value`` (a scalar is 0), without recursing."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        deepest = max(deepest, level)
        stack.extend((v, level + 1) for v in children if isinstance(v, dict | list))
    return deepest if isinstance(value, dict | list) else 0


def _cell(value: Any) -> str:
    if isinstance(value, dict | list) and _depth(value) > MAX_DEPTH - 2:
        raise TooDeep(f"a cell nests more than {MAX_DEPTH - 2} levels")
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def to_csv(path: Path, target: Path) -> int:
    """Write the table in ``path`` to ``target``; returns its number of rows."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except RecursionError:
        raise TooDeep(f"nested more than {MAX_DEPTH} levels") from None
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    if not isinstance(data, list) or not data:
        raise NotATable("expected a non-empty list")
    with target.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        if all(isinstance(item, dict) for item in data):
            header: dict[str, None] = {}
            for item in data:
                header.update(dict.fromkeys(item))
            writer.writerow(header)
            writer.writerows([_cell(item.get(key)) for key in header] for item in data)
        elif all(isinstance(item, list) for item in data):
            writer.writerows([_cell(v) for v in item] for item in data)
        else:
            raise NotATable("rows must all be objects, or all be lists")
    return len(data)
