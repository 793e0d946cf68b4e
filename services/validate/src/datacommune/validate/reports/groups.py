"""The findings as a person reads them: one group per kind of problem and column, with its
exact count, the rows it touches, its first examples and each piece of advice once.

A real file with 400 empty dates is one problem, « the column dateConvention is empty on rows
2 to 401 », not 400 lines of the same sentence. Pages show a group's first examples and the
rest behind « voir les N autres »; the JSON carries the same groups under ``groups``.
"""

from collections import Counter
from typing import Any

from datacommune.shared import wording
from datacommune.validate.reports import hints

# Examples kept per group in the report; a page shows the first few and folds the rest.
EXAMPLES = 20
# Row ranges kept per group (« lignes 2 à 49, 51, 60 à 72 »); past this, « … ».
RANGES = 12
# Advice is computed from the first findings of a group only: past that it only repeats.
HINTED = 200
DISTINCT_HINTS = 3

# What a broken rule is called, in the group's heading.
RULES = {
    "required": "Cellule obligatoire vide",
    "pattern": "Valeur qui n'a pas la forme attendue",
    "enum": "Valeur hors de la liste permise",
    "maximum": "Valeur trop grande",
    "minimum": "Valeur trop petite",
    "maxLength": "Texte trop long",
    "minLength": "Texte trop court",
    "unique": "Valeur en double",
}


def heading(kind: str, rule_name: str | None) -> str:
    """« Cellule obligatoire vide », « Valeur du mauvais type (il faut un nombre) »."""
    if kind == "constraint-error" and rule_name in RULES:
        return RULES[rule_name]
    if kind == "type-error" and rule_name in hints.FRENCH_TYPES:
        return f"{hints.title(kind)} (il faut {hints.FRENCH_TYPES[rule_name]})"
    return hints.title(kind)


def ranges(rows: set[int]) -> list[list[int]]:
    """Row numbers as sorted ``[first, last]`` runs, at most RANGES of them."""
    runs: list[list[int]] = []
    for row in sorted(rows):
        if runs and row == runs[-1][1] + 1:
            runs[-1][1] = row
        elif len(runs) == RANGES:
            break
        else:
            runs.append([row, row])
    return runs


def rows_fr(runs: list[list[int]], total: int) -> str:
    """« lignes 2 à 49, 51 et 60 », with « … » where more rows are concerned than listed."""
    if not runs:
        return ""
    parts = [str(a) if a == b else f"{a} à {b}" for a, b in runs]
    listed = sum(b - a + 1 for a, b in runs)
    word = "ligne" if listed == 1 and total == 1 else "lignes"
    if listed < total:
        return f"{word} {', '.join(parts)}…"
    if len(parts) == 1:
        return f"{word} {parts[0]}"
    return f"{word} {', '.join(parts[:-1])} et {parts[-1]}"


def group(found: list[dict[str, Any]], specs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The groups of ``found`` (every finding, each with its severity), largest first after the
    header's problems: a column missing matters before the cells of another."""
    members: dict[tuple[str, str, str | None, str | None], list[dict[str, Any]]] = {}
    for f in found:
        # A header finding names its column in ``field``: those of one kind make one group.
        column = f.get("field") if f.get("row") is not None else None
        key = (
            f.get("severity", "error"),
            f["type"],
            column,
            hints.broken_rule(f["type"], f.get("note")),
        )
        members.setdefault(key, []).append(f)
    groups = [_describe(key, items, specs) for key, items in members.items()]
    groups.sort(key=lambda g: (g["severity"] != "error", not g["header"], -g["count"]))
    return groups


def _describe(
    key: tuple[str, str, str | None, str | None],
    items: list[dict[str, Any]],
    specs: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    severity, kind, column, rule_name = key
    advice: Counter[str] = Counter()
    for f in items[:HINTED]:
        if said := hints.hint(
            kind, f.get("note"), spec=specs.get(f.get("field") or ""), cell=f.get("cell")
        ):
            advice[said] += 1
    header = all(f.get("row") is None for f in items)
    rows = {f["row"] for f in items if f.get("row")}
    runs = ranges(rows)
    count = len(items)
    examples = [
        {
            "row": f.get("row"),
            "field": f.get("field"),
            "cell": f.get("cell"),
            "message_fr": hints.describe(
                kind, field=f.get("field"), cell=f.get("cell"), note=f.get("note")
            )
            or f["message"],
            "message": f["message"],
        }
        for f in items[:EXAMPLES]
    ]
    sentences = {e["message_fr"] for e in examples}
    # Counted as what they are: columns of the header, cells of a column, rows, or problems
    # of the whole table (« les deux colonnes sont absentes »).
    if header:
        unit = ("colonne", "colonnes") if kind.endswith("-label") else ("problème", "problèmes")
    else:
        unit = ("cellule", "cellules") if column else ("ligne", "lignes")
    return {
        "severity": severity,
        "type": kind,
        "rule": rule_name,
        "field": column,
        "header": header,
        "title": heading(kind, rule_name),
        "count": count,
        "count_fr": wording.fr(count, *unit),
        "rows": runs,
        "rows_fr": rows_fr(runs, len(rows)),
        "hints": [h for h, _ in advice.most_common(DISTINCT_HINTS)],
        # The one sentence every example says, shown once; else whether each example's own
        # sentence adds to the heading and its value (a broken rule or a French check's does not).
        "said_fr": next(iter(sentences)) if len(sentences) == 1 and count > 1 else None,
        "detail": len(sentences) > 1
        and kind not in ("constraint-error", "type-error")
        and kind not in hints.SPECIFIC,
        "examples": examples,
    }
