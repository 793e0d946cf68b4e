"""The report in the other shapes people and tools read: an HTML page, and Validata's JSON."""

import html
from collections import defaultdict
from typing import Any

from datacommune.validate.reports import hints

STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
line-height:1.5;color:#1e1e1e}
h1{font-size:1.5rem}.ok{color:#18753c}.ko{color:#ce0500}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}
th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f6f6}.hint{background:#f5f5fe;padding:.5rem 1rem;border-left:4px solid #000091}
code{background:#f6f6f6;padding:0 .2rem}small{color:#666}
"""

CONFIDENCE = [(0.95, "certaine"), (0.8, "élevée"), (0.5, "moyenne"), (0.0, "faible")]


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _confidence(value: float) -> str:
    return next(label for bound, label in CONFIDENCE if value >= bound)


def to_html(report: dict[str, Any], *, filename: str | None = None) -> str:
    """A page in plain French: one sentence, counts per kind, then each finding and what to do."""
    ok = report["publishable"] and report["valid"]
    name = filename or (report.get("file") or {}).get("filename") or "fichier"
    parts = [
        "<!doctype html><html lang='fr'><head><meta charset='utf-8'>",
        f"<title>Rapport de validation — {_e(name)}</title><style>{STYLE}</style></head><body>",
        f"<h1>Rapport de validation : {_e(name)}</h1>",
        f"<p class='{'ok' if ok else 'ko'}'><strong>{_e(report['message']['fr'])}</strong></p>",
    ]
    schema = report.get("schema")
    if schema:
        parts.append(f"<p>Schéma : <code>{_e(schema['id'])}</code> — {_e(schema['title'])}</p>")
        # Reports stored before the French notes show the warnings as they were.
        for note in schema.get("notes") or schema.get("warnings", []):
            parts.append(f"<p><small>Remarque sur le schéma : {_e(note)}</small></p>")
    parts.append(_reading(report.get("source") or {}))
    errors = report["summary"]["error_types"]
    warnings = report["summary"].get("warning_types", {})
    rows = [(k, n, "erreur : bloque la publication") for k, n in errors.items()]
    rows += [(k, n, "remarque") for k, n in warnings.items()]
    counts = {k: errors.get(k, 0) + warnings.get(k, 0) for k, _, _ in rows}
    if rows:
        parts.append(
            "<h2>Nombre de problèmes par type</h2><table><tr><th>Type</th><th>Nombre</th>"
            "<th>Gravité</th></tr>"
        )
        for kind, count, severity in rows:
            parts.append(
                f"<tr><td>{_e(hints.title(kind))}</td><td>{count}</td><td>{severity}</td></tr>"
            )
        parts.append("</table>")
        if report["summary"].get("truncated"):
            parts.append(
                "<p><small>Le décompte s'est arrêté au plafond : ce sont des minimums.</small></p>"
            )
    if "groups" in report:
        parts += _groups(report["groups"])
    else:
        parts += _by_kind(report["issues"], counts)
    parts.append("</body></html>")
    return "\n".join(parts)


def _groups(groups: list[dict[str, Any]]) -> list[str]:
    """Each group of findings with its count, rows, advice once and every example kept: the
    printable report shows what the upload page folds away."""
    parts = []
    for group in groups:
        column = f" — colonne « {_e(group['field'])} »" if group.get("field") else ""
        parts.append(
            f"<h2>{_e(group['title'])}{column} <small>({_e(group['count_fr'])})</small></h2>"
        )
        if group.get("rows_fr"):
            parts.append(f"<p><small>{_e(group['rows_fr'])}</small></p>")
        for hint in group["hints"]:
            parts.append(f"<p class='hint'>Que faire : {_e(hint)}</p>")
        parts.append("<table><tr><th>Ligne</th><th>Colonne</th><th>Valeur</th><th>Détail</th></tr>")
        for example in group["examples"]:
            parts.append(
                f"<tr><td>{_e(example.get('row') or 'en-tête')}</td>"
                f"<td>{_e(example.get('field'))}</td><td><code>{_e(example.get('cell'))}</code></td>"
                f"<td>{_e(example.get('message_fr') or example.get('message'))}</td></tr>"
            )
        parts.append("</table>")
        if group["count"] > len(group["examples"]):
            parts.append(
                f"<p><small>{len(group['examples'])} exemples sur {group['count']}.</small></p>"
            )
    return parts


def _by_kind(issues: list[dict[str, Any]], counts: dict[str, int]) -> list[str]:
    """The examples of a report stored before findings were grouped, by kind."""
    parts = []
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for issue in issues:
        by_kind[issue["type"]].append(issue)
    for kind, kept in by_kind.items():
        shown = len(kept)
        total = counts.get(kind, shown)
        parts.append(f"<h2>{_e(hints.title(kind))} <small>({total})</small></h2>")
        hint = kept[0].get("hint")
        if hint and all(i.get("hint") == hint for i in kept):
            parts.append(f"<p class='hint'>Que faire : {_e(hint)}</p>")
            hint_column = False
        else:
            hint_column = True
        header = "<tr><th>Ligne</th><th>Colonne</th><th>Valeur</th><th>Détail</th>"
        parts.append("<table>" + header + ("<th>Que faire</th>" if hint_column else "") + "</tr>")
        for issue in kept:
            parts.append(
                f"<tr><td>{_e(issue.get('row') or 'en-tête')}</td><td>{_e(issue.get('field'))}</td>"
                f"<td><code>{_e(issue.get('cell'))}</code></td>"
                f"<td>{_e(issue.get('message_fr') or issue.get('message'))}</td>"
                + (f"<td>{_e(issue.get('hint'))}</td>" if hint_column else "")
                + "</tr>"
            )
        parts.append("</table>")
        if total > shown:
            parts.append(f"<p><small>{shown} exemples sur {total}.</small></p>")
    return parts


def _reading(source: dict[str, Any]) -> str:
    encoding, dialect = source.get("encoding"), source.get("dialect")
    if not encoding:
        return ""
    text = (
        f"<p>Lu en <code>{_e(encoding['name'])}</code> (confiance {_confidence(encoding['confidence'])} : "
        f"{_e(encoding['reason'])})"
    )
    if dialect:
        sep = {"\t": "tabulation"}.get(dialect["delimiter"], dialect["delimiter"])
        text += (
            f", séparateur <code>{_e(sep)}</code> (confiance {_confidence(dialect['confidence'])} : "
            f"{_e(dialect['reason'])}), fins de ligne {_e(dialect['line_endings'])}"
        )
    return text + ". Si ce n'est pas cela, précisez l'encodage ou le séparateur en déposant.</p>"


def to_validata(report: dict[str, Any]) -> dict[str, Any]:
    """The report in the shape Validata and frictionless tools read (``report.tasks[].errors``)."""
    errors = [
        {
            "type": i["type"],
            "title": i["title"],
            "message": i["message"],
            "note": i.get("note") or "",
            "rowNumber": i.get("row"),
            "fieldName": i.get("field"),
            "cell": i.get("cell"),
            "tags": ["#table", "#row", "#cell"] if i.get("row") else ["#table", "#header"],
        }
        for i in report["issues"]
    ]
    summary = report["summary"]
    return {
        "valid": report["valid"],
        "stats": {"errors": summary["errors"], "warnings": summary["warnings"], "tasks": 1},
        "warnings": (report.get("schema") or {}).get("warnings", []),
        "errors": [],
        "tasks": [
            {
                "valid": report["valid"],
                "name": (report.get("file") or {}).get("filename", "file"),
                "type": "table",
                "labels": (report.get("source") or {}).get("header", []),
                "stats": {
                    "errors": summary["errors"],
                    "rows": summary["rows"],
                    "seconds": report.get("seconds", 0),
                },
                "errors": errors,
            }
        ],
    }
