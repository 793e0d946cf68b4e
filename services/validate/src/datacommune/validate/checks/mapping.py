"""Column mapping: when a file's headers are not the schema's, which column is which field.

Headers miss for three reasons: case and spacing (« NomAttribuant »), the old SCDL v1 names
several collectivités still use (« COLL_NOM »), and a collectivité's own names. A mapping is
proposed with its reason and a score; the person confirms it once, ingest remembers it for the
organization's dataset, and it is applied to that dataset's next uploads. Nothing is mapped
without that confirmation.
"""

import difflib
import re
import unicodedata
from typing import Any

from datacommune.validate.registry import SchemaEntry

# Old names of SCDL v1 (2017–2018) and frequent variants, by schema name.
ALIASES: dict[str, dict[str, str]] = {
    "scdl-subventions": {
        "coll_nom": "nomAttribuant",
        "coll_siret": "idAttribuant",
        "acte_date": "dateConvention",
        "acte_ref": "referenceDecision",
        "attrib_nom": "nomBeneficiaire",
        "attrib_siret": "idBeneficiaire",
        "attrib_rna": "rnaBeneficiaire",
        "sub_objet": "objet",
        "sub_obj": "objet",
        "sub_montant": "montant",
        "sub_nature": "nature",
        "sub_versement": "conditionsVersement",
        "sub_dispositif": "dispositifAide",
        "notif_eu": "notificationUE",
        "notification a la commission europeenne": "notificationUE",
        "pourcentage": "pourcentageSubvention",
    },
}
MIN_SIMILARITY = 0.8
# Below this, a schema names too few of the file's columns to be worth suggesting.
MIN_GUESS = 0.3


def normalize(name: str) -> str:
    """Lower-case ASCII letters and digits only: « N°\\nDCM » → ``ndcm``."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]", "", text)


def _plain(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"\s+", " ", text).strip()


def fit(values: list[str], spec: dict[str, Any]) -> float:
    """The share of non-empty ``values`` that the field would accept (pattern, enum, type)."""
    seen = [v.strip() for v in values if v and v.strip()]
    if not seen:
        return 1.0
    constraints = spec.get("constraints", {})
    pattern = re.compile(constraints["pattern"]) if "pattern" in constraints else None
    allowed = set(constraints.get("enum", []))
    kind = spec.get("type", "string")
    ok = 0
    for value in seen:
        if pattern and not pattern.fullmatch(value):
            continue
        if allowed and value not in allowed:
            continue
        if kind in ("number", "integer") and not re.fullmatch(r"-?[\d\s\u00a0.,]+", value):
            continue
        if kind == "date" and not re.search(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", value):
            continue
        ok += 1
    return ok / len(seen)


IMPLIED = {"french-siret-value": r"\s*\d{14}\s*", "french-siren-value": r"\s*\d{9}\s*"}


def _with_checks(spec: dict[str, Any], schema: SchemaEntry) -> dict[str, Any]:
    """A field's spec with the pattern its declared SIRET/SIREN check implies."""
    for check in schema.descriptor.get("custom_checks", []):
        params = check.get("params") or {}
        if params.get("column") == spec["name"] and check.get("name") in IMPLIED:
            constraints = {**spec.get("constraints", {}), "pattern": IMPLIED[check["name"]]}
            return {**spec, "constraints": constraints}
    return spec


def propose(
    header: list[str], schema: SchemaEntry, rows: list[list[str]] | None = None
) -> list[dict[str, Any]]:
    """For each column the schema does not know, the field it probably is, why, and how sure.

    ``rows`` are the first rows of the file: a name alone can mislead (« Bénéficiaire » looks
    like ``idBeneficiaire``), the values seen tell a SIRET from a name.
    """
    specs = {f["name"]: _with_checks(f, schema) for f in schema.descriptor.get("fields", [])}
    fields = list(specs)
    rows = rows or []
    titles = {f["name"]: f.get("title") or "" for f in schema.descriptor.get("fields", [])}
    taken = {h for h in header if h in fields}
    aliases = ALIASES.get(schema.name, {})
    candidates: list[tuple[float, str, str, str]] = []
    for column in header:
        if column in fields:
            continue
        key = normalize(column)
        for field in fields:
            if field in taken:
                continue
            if key and key in (normalize(field), normalize(titles[field])):
                candidates.append((1.0, column, field, "même nom, à la casse ou aux espaces près"))
            elif (
                aliases.get(_plain(column).replace(" ", "_")) == field
                or aliases.get(_plain(column)) == field
            ):
                candidates.append((0.95, column, field, "ancien nom SCDL"))
            else:
                score = difflib.SequenceMatcher(None, key, normalize(field)).ratio()
                position = header.index(column)
                values = [r[position] for r in rows if position < len(r)]
                agreement = fit(values, specs[field])
                if score >= MIN_SIMILARITY and agreement >= 0.5:
                    candidates.append(
                        (
                            round(score * (0.5 + agreement / 2), 2),
                            column,
                            field,
                            f"nom très proche, {agreement:.0%} des valeurs conviennent",
                        )
                    )
    proposals: list[dict[str, Any]] = []
    used_columns: set[str] = set()
    for score, column, field, reason in sorted(candidates, key=lambda c: -c[0]):
        if column in used_columns or field in taken:
            continue
        used_columns.add(column)
        taken.add(field)
        proposals.append({"column": column, "field": field, "reason": reason, "score": score})
    return sorted(proposals, key=lambda p: header.index(p["column"]))


def apply(header: list[str], mapping: dict[str, str]) -> list[str]:
    """The header with mapped columns renamed to their schema fields."""
    return [mapping.get(column, column) for column in header]


def guess(header: list[str], candidates: list[SchemaEntry]) -> list[dict[str, Any]]:
    """Schemas ranked by how many of the header's columns they name (directly or by alias)."""
    ranked = []
    keys = {normalize(h) for h in header if h.strip()}
    for schema in candidates:
        names = {normalize(f["name"]) for f in schema.descriptor.get("fields", [])}
        names |= {normalize(a) for a in ALIASES.get(schema.name, {})}
        matched = len(keys & names)
        if not matched or not keys:
            continue
        fields = len(schema.descriptor.get("fields", [])) or 1
        # Columns of the file the schema explains, weighed by how much of the schema they cover.
        score = round((matched / len(keys)) * min(1.0, matched / fields) ** 0.5, 2)
        if score < MIN_GUESS:
            continue
        ranked.append({"id": schema.id, "title": schema.title, "score": score, "matched": matched})
    return sorted(ranked, key=lambda r: -r["score"])[:3]
