"""How the commands show a validation report and a problem to a person, in French first."""

import io
import sys
from typing import Any, TextIO

from datacommune.shared import wording

LABEL_TYPES = {"extra-label", "missing-label", "blank-label", "duplicate-label", "incorrect-label"}


def where(issue: dict[str, Any]) -> str:
    """« ligne 5, colonne « montant », valeur « 100000,1 » », or the header, or the file."""
    if issue.get("row"):
        place = f"ligne {issue['row']}"
    elif issue["type"] in LABEL_TYPES:
        place = "en-tête"
    else:
        place = "fichier"
    if issue.get("field"):
        place += f", colonne « {issue['field']} »"
    if issue.get("cell") not in (None, ""):
        place += f", valeur « {issue['cell']} »"
    return place


def report(
    body: dict[str, Any], *, limit: int = 30, examples: int = 2, out: TextIO = sys.stdout
) -> None:
    """The summary sentence, then each group of findings with its first ``examples`` and what
    to do about it."""
    print(body["message"]["fr"], file=out)
    if body["message"].get("en"):
        print(f"({body['message']['en']})", file=out)
    guesses(body, out=out)
    repair = body.get("repair")
    if repair and not repair.get("applied"):
        counts = ", ".join(f"{n} × {repair['kinds'][k]}" for k, n in repair["counts"].items())
        changes = "; ".join(part for part in [*repair["file"], counts] if part)
        after = repair["after"]["summary"]["errors"]
        left = (
            "Il ne resterait aucune erreur."
            if after == 0
            else f"Il resterait {wording.fr(after, 'erreur')}."
        )
        print(f"Corrections sûres possibles (--fix) : {changes}. {left}", file=out)
    if "groups" in body:
        for group in body["groups"]:
            findings(group, examples=examples, out=out)
        return
    # A report stored before findings were grouped: its first examples, one by one.
    issues = body.get("issues", [])
    for issue in issues[:limit]:
        print(f"  - {issue['title']} ({where(issue)})", file=out)
        if issue.get("hint"):
            print(f"    → {issue['hint']}", file=out)
    if len(issues) > limit:
        total = body.get("summary", {}).get("errors", len(issues))
        print(f"  … {total - limit} de plus : voir le rapport complet (--json).", file=out)


def findings(group: dict[str, Any], *, examples: int, out: TextIO) -> None:
    """One kind of problem on one column: its count and rows, its first examples, what to do
    (once), as the report page shows it."""
    column = f" — colonne « {group['field']} »" if group.get("field") else ""
    rows = f" ({group['rows_fr']})" if group.get("rows_fr") else ""
    remark = " [remarque]" if group["severity"] == "warning" else ""
    print(f"  - {group['title']}{column} : {group['count_fr']}{rows}{remark}", file=out)
    named = [e["field"] for e in group["examples"] if e.get("field")]
    if group.get("header") and named:
        print("    colonnes : " + ", ".join(f"« {n} »" for n in named), file=out)
    elif group.get("said_fr"):
        print(f"    {group['said_fr']}", file=out)
    # An example says something the heading and rows do not when it has a value, a column
    # of its own, or a sentence of its own.
    telling = [
        e
        for e in group["examples"]
        if e.get("cell") not in (None, "")
        or (e.get("field") and not group.get("field"))
        or group.get("detail")
    ]
    if not group.get("header") and telling:
        for example in telling[:examples]:
            place = f"ligne {example['row']}" if example.get("row") else "fichier"
            if not group.get("field") and example.get("field"):
                place += f", colonne « {example['field']} »"
            value = example.get("cell")
            said = f" : « {value} »" if value not in (None, "") else ""
            if group.get("detail"):
                said = f" : {example['message_fr']}"
            print(f"    {place}{said}", file=out)
        shown = min(examples, len(telling))
        if group["count"] > shown:
            more = wording.fr(group["count"] - shown, "autre")
            print(f"    … et {more} (--json pour le détail)", file=out)
    for hint in group.get("hints", []):
        print(f"    → {hint}", file=out)


def report_text(body: dict[str, Any]) -> str:
    """The same as ``report``, every example kept shown, as a string."""
    out = io.StringIO()
    report(body, limit=len(body.get("issues", [])), examples=len(body.get("issues", [])), out=out)
    return out.getvalue()


def problem(body: dict[str, Any], *, out: TextIO = sys.stderr) -> None:
    """A problem JSON: French, the English beside, and which fields are wrong."""
    print(f"{body.get('title')} : {body.get('detail')}", file=out)
    for error in body.get("errors", []):
        field = ".".join(str(p) for p in error.get("loc", [])[1:]) or "?"
        print(f"  - {field} : {error.get('msg')}", file=out)
    if body.get("detail_en"):
        print(f"({body.get('title_en')}: {body['detail_en']})", file=out)


def guesses(report: dict[str, Any], *, out: TextIO) -> None:
    """The national schema a file without one looks like, and how to check against it."""
    for guess in report.get("schema_guess", [])[:1]:
        print(
            f"Schéma probable : {guess['id']} ({guess['title']}, colonnes reconnues à "
            f"{round(guess['score'] * 100)} %) ; vérifiez avec --schema "
            f"{guess['id'].split('@')[0]}.",
            file=out,
        )
