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


class Runs:
    """Row numbers, given in increasing order, as ``[first, last]`` runs: at most RANGES runs,
    and how many distinct rows in all."""

    def __init__(self) -> None:
        self.runs: list[list[int]] = []
        self.rows = 0
        self._last = 0
        self._full = False

    def add(self, row: int) -> None:
        if row == self._last:
            return
        self.rows += 1
        self._last = row
        if self._full:
            return
        if self.runs and row == self.runs[-1][1] + 1:
            self.runs[-1][1] = row
        elif len(self.runs) == RANGES:
            self._full = True  # past the last run kept: only counted
        else:
            self.runs.append([row, row])


def ranges(rows: set[int]) -> list[list[int]]:
    """Row numbers as sorted ``[first, last]`` runs, at most RANGES of them."""
    runs = Runs()
    for row in sorted(rows):
        runs.add(row)
    return runs.runs


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


Key = tuple[str, str, str | None, str | None]


class Members:
    """One group's findings as they come, row after row: their count, the rows they touch and
    the first HINTED of them (the examples and the advice come from those)."""

    def __init__(self) -> None:
        self.count = 0
        self.first: list[dict[str, Any]] = []
        self.runs = Runs()
        self.header = True

    def add(self, finding: dict[str, Any]) -> None:
        self.count += 1
        if len(self.first) < HINTED:
            self.first.append(finding)
        row = finding.get("row")
        if row is not None:
            self.header = False
        if row:
            self.runs.add(row)


def key(finding: dict[str, Any]) -> Key:
    """The group of a finding (which carries its severity): severity, kind, column, rule."""
    # A header finding names its column in ``field``: those of one kind make one group.
    column = finding.get("field") if finding.get("row") is not None else None
    return (
        finding.get("severity", "error"),
        finding["type"],
        column,
        hints.broken_rule(finding["type"], finding.get("note")),
    )


def described(
    members: dict[Key, Members], specs: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """The groups, largest first after the header's problems: a column missing matters before
    the cells of another."""
    groups = [_describe(k, m, specs) for k, m in members.items()]
    groups.sort(key=lambda g: (g["severity"] != "error", not g["header"], -g["count"]))
    return groups


def _describe(grouped: Key, members: Members, specs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    severity, kind, column, rule_name = grouped
    items = members.first
    advice: Counter[str] = Counter()
    for f in items:  # the first HINTED
        if said := hints.hint(
            kind, f.get("note"), spec=specs.get(f.get("field") or ""), cell=f.get("cell")
        ):
            advice[said] += 1
    header = members.header
    runs = members.runs.runs
    count = members.count
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
        "rows_fr": rows_fr(runs, members.runs.rows),
        "hints": [h for h, _ in advice.most_common(DISTINCT_HINTS)],
        # The one sentence every example says, shown once; else whether each example's own
        # sentence adds to the heading and its value (a broken rule or a French check's does not).
        "said_fr": next(iter(sentences)) if len(sentences) == 1 and count > 1 else None,
        "detail": len(sentences) > 1
        and kind not in ("constraint-error", "type-error")
        and kind not in hints.SPECIFIC,
        "examples": examples,
    }
