"""The safe repairs a report proposes, as the upload page shows them: one block per kind of
repair, its exact count, the columns it touches and its first changes, the rest folded."""

from typing import Any

from datacommune.shared import wording

# Changes kept per kind for the page (the report keeps the first 1,000 of all kinds).
KEPT = 50
COLUMNS = 8


def grouped(repair: dict[str, Any]) -> list[dict[str, Any]]:
    counts: dict[str, int] = repair.get("counts") or {}
    changes: list[dict[str, Any]] = repair.get("changes") or []
    blocks = []
    for kind, label in (repair.get("kinds") or {}).items():
        items = [c for c in changes if c.get("kind") == kind]
        columns = list(dict.fromkeys(c["field"] for c in items if c.get("field")))
        count = counts.get(kind, len(items))
        blocks.append(
            {
                "kind": kind,
                "label": label,
                "count": count,
                "count_fr": wording.fr(count, "modification"),
                "columns": columns[:COLUMNS],
                "more_columns": max(0, len(columns) - COLUMNS),
                "examples": items[:KEPT],
            }
        )
    return sorted(blocks, key=lambda b: -b["count"])
