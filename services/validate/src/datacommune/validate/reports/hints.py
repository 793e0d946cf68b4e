"""What each finding is called in French, and what the person should do about it.

frictionless describes a finding in English with a ``note`` such as ``constraint "maximum" is
"1"`` or ``type is "date/default"``; these become a precise French instruction.
"""

import re
from typing import Any

from datacommune.validate.checks.repairs import folded

TITLES = {
    "source-error": "Fichier illisible",
    "encoding-error": "Encodage incorrect",
    "format-error": "Format non reconnu",
    "scheme-error": "Source inaccessible",
    "schema-error": "Schéma invalide",
    "extra-label": "Colonne en trop",
    "missing-label": "Colonne manquante",
    "blank-label": "En-tête vide",
    "duplicate-label": "En-tête en double",
    "incorrect-label": "En-tête inattendu",
    "blank-row": "Ligne vide",
    "extra-cell": "Cellule en trop",
    "missing-cell": "Cellule manquante",
    "type-error": "Valeur du mauvais type",
    "constraint-error": "Valeur non conforme",
    "unique-error": "Valeur en double",
    "primary-key": "Clé primaire en double",
    "schema-not-found": "Schéma inconnu",
    "check-failed": "Vérification impossible",
    "limit-exceeded": "Limite dépassée",
    "unclosed-quote": "Guillemet jamais fermé",
    "french-siret-value": "SIRET invalide",
    "french-siren-value": "SIREN invalide",
    "french-insee-code-value": "Code commune INSEE invalide",
    "one-of-required": "Une des deux colonnes requise",
    "opening-hours-value": "Horaires d'ouverture invalides",
    "year-interval-value": "Intervalle d'années invalide",
    "nomenclature-actes-value": "Nomenclature des actes invalide",
    "french-gps-coordinates": "Coordonnées hors de France",
    "reversed-french-gps-coordinates": "Coordonnées GPS inversées",
    "cohesive-columns-value": "Colonnes incohérentes",
    "compare-columns-value": "Comparaison de colonnes non respectée",
    "sum-columns-value": "Somme de colonnes non respectée",
}

BY_TYPE = {
    "format-error": "Déposez un tableau : CSV, XLSX, ODS ou JSON.",
    "scheme-error": "Déposez le fichier lui-même ; aucune adresse n'est suivie.",
    "schema-error": "Le schéma lui-même est défectueux : prévenez l'administrateur.",
    "incorrect-label": "Renommez la colonne comme le schéma l'attend.",
    "primary-key": "Chaque ligne doit avoir son propre identifiant : corrigez le doublon.",
    "check-failed": "Vérifiez que le fichier est bien un tableau ; sinon prévenez l'administrateur.",
    "limit-exceeded": "Déposez un tableau plus simple : un CSV, ou le fichier découpé.",
    "unclosed-quote": "Fermez le guillemet de la ligne indiquée (ou retirez-le), puis déposez à nouveau.",
    "encoding-error": "Enregistrez le fichier en UTF-8 depuis votre tableur (« CSV UTF-8 »).",
    "extra-label": "Supprimez cette colonne ou renommez-la comme le schéma l'attend.",
    "missing-label": "Ajoutez cette colonne, même vide si elle est facultative ; si l'une de vos "
    "colonnes la contient sous un autre nom, faites-la correspondre (correspondance de "
    "colonnes).",
    "blank-label": "Donnez un nom à chaque colonne de la première ligne.",
    "duplicate-label": "Deux colonnes portent le même nom : renommez ou supprimez l'une d'elles.",
    "blank-row": "Supprimez les lignes vides, souvent en fin de fichier.",
    "missing-cell": "Complétez la ligne : il lui manque des cellules.",
    "extra-cell": "Retirez les cellules en trop, ou mettez entre guillemets une valeur contenant "
    "un séparateur.",
    "unique-error": "Chaque valeur de cette colonne doit être unique : corrigez le doublon.",
    "source-error": "Vérifiez que le fichier est bien un tableau (CSV, XLSX, ODS) et qu'il n'est "
    "pas vide.",
    "french-siret-value": "Recopiez le SIRET à 14 chiffres depuis l'annuaire des entreprises "
    "(annuaire-entreprises.data.gouv.fr), sans espace ; un tableur l'abîme s'il l'écrit en "
    "nombre (2,43E+13) : mettez la colonne au format texte.",
    "french-siren-value": "Recopiez le SIREN à 9 chiffres depuis l'annuaire des entreprises, sans "
    "espace.",
    "french-insee-code-value": "Écrivez le code INSEE de la commune sur 5 caractères, zéro "
    "initial compris (ex. 04070 pour Digne-les-Bains, 2A004 pour Ajaccio) ; ce n'est pas le code "
    "postal.",
    "one-of-required": "Remplissez au moins l'une des deux colonnes pour cette ligne.",
    "opening-hours-value": "Écrivez les horaires comme « Mo-Fr 08:00-12:00,14:00-18:00; Sa "
    "09:00-12:00; PH off » (syntaxe opening_hours d'OpenStreetMap).",
    "year-interval-value": "Écrivez l'intervalle comme « 2024/2025 ».",
    "nomenclature-actes-value": "Écrivez « Matière/sous-matière », la matière étant une de la "
    "nomenclature Actes (ex. « Finances locales/Subventions »).",
    "french-gps-coordinates": "Vérifiez les coordonnées : longitude puis latitude, en degrés "
    "décimaux (WGS 84), dans un territoire français.",
    "reversed-french-gps-coordinates": "Échangez longitude et latitude : la longitude vient "
    "d'abord (ex. 1.44, 43.60 pour Toulouse).",
    "cohesive-columns-value": "Remplissez toutes ces colonnes, ou laissez-les toutes vides.",
    "compare-columns-value": "Corrigez l'une des deux valeurs pour que la comparaison tienne.",
    "sum-columns-value": "Corrigez le total ou ses parties pour que la somme tombe juste.",
    "schema-not-found": "Choisissez un schéma de la liste (« datacommune schemas », ou "
    "GET /api/v1/schemas du service validate).",
}

TYPES = {
    "number": "Écrivez un nombre avec un point décimal, sans espace ni symbole (ex. 1234.50).",
    "integer": "Écrivez un nombre entier, sans espace ni symbole (ex. 1234).",
    "date": "Écrivez la date au format AAAA-MM-JJ (ex. 2025-03-18).",
    "datetime": "Écrivez la date et l'heure au format AAAA-MM-JJTHH:MM:SS.",
    "time": "Écrivez l'heure au format HH:MM:SS.",
    "year": "Écrivez l'année sur quatre chiffres (ex. 2025).",
    "boolean": "Écrivez une des valeurs vrai/faux que le schéma accepte (souvent true/false).",
    "geopoint": "Écrivez les coordonnées comme le schéma le demande (ex. « 43.6, 1.44 »).",
    "array": 'Écrivez une liste JSON (ex. ["a", "b"]).',
    "object": 'Écrivez un objet JSON (ex. {"clé": "valeur"}).',
}

# Findings of the French checks, which name what is wrong with a value (a SIRET, an INSEE code,
# coordinates): where one is found, the same cell's broken pattern says less and is dropped;
# its title says it all, so a page need not repeat its sentence on every row.
SPECIFIC = {
    "french-siret-value",
    "french-siren-value",
    "french-insee-code-value",
    "opening-hours-value",
    "year-interval-value",
    "nomenclature-actes-value",
    "french-gps-coordinates",
    "reversed-french-gps-coordinates",
}


_QUOTED = re.compile(r"(?<!\w)'([^'\s]+)'")
_TYPE_NOTE = re.compile(r'type is "(\w+)')
_CONSTRAINT_NOTE = re.compile(r'constraint "(\w+)" is "(.*)"', re.DOTALL)


def broken_rule(error_type: str, note: str | None) -> str | None:
    """The constraint a value broke (``required``, ``pattern``…) or the type it failed to have
    (``number``, ``date``…), read from frictionless's note; None for any other finding."""
    if error_type == "type-error" and note and (m := _TYPE_NOTE.search(note)):
        return m.group(1)
    if error_type == "constraint-error" and note and (m := _CONSTRAINT_NOTE.search(note)):
        return m.group(1)
    return None


def title(error_type: str) -> str:
    """The French name of a kind of finding."""
    return TITLES.get(error_type, error_type)


def hint(
    error_type: str,
    note: str | None,
    *,
    spec: dict[str, Any] | None = None,
    cell: str | None = None,
) -> str | None:
    """What to do, as precisely as the finding allows; ``spec`` is the schema's field, whose
    allowed values, example and description say it in the schema's own words."""
    if error_type == "type-error" and note and (m := _TYPE_NOTE.search(note)):
        return TYPES.get(m.group(1), "Corrigez la valeur pour qu'elle ait le type attendu.")
    if error_type == "constraint-error" and note and (m := _CONSTRAINT_NOTE.search(note)):
        return _constraint(m.group(1), m.group(2), spec or {}, cell)
    if error_type == "constraint-error":
        return "Corrigez la valeur pour qu'elle respecte la règle du schéma."
    return BY_TYPE.get(error_type)


def french_list(values: list[Any], most: int = 12) -> str:
    """« « a », « b » ou « c » », the first ``most`` of a long list and how many in all."""
    shown = [f"« {v} »" for v in values[:most]]
    if len(values) > most:
        return ", ".join(shown) + f"… ({len(values)} valeurs, toutes dans le schéma)"
    if len(shown) < 2:
        return "".join(shown)
    return ", ".join(shown[:-1]) + " ou " + shown[-1]


def _example(spec: dict[str, Any]) -> str | None:
    example = spec.get("example") or (spec.get("examples") or [None])[0]
    return None if example in (None, "") else str(example)


_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")


def _first_sentence(text: str) -> str:
    # A schema's description is Markdown: its links are read as their words.
    sentence = re.split(r"(?<=[.!?])\s", _LINK.sub(r"\1", text).strip(), maxsplit=1)[0]
    sentence = _QUOTED.sub(r"« \1 »", sentence)
    return sentence if len(sentence) <= 200 else sentence[:197].rstrip() + "…"


def _percentage(spec: dict[str, Any]) -> bool:
    words = " ".join(str(spec.get(k) or "") for k in ("name", "title", "description")).lower()
    return any(w in words for w in ("pourcentage", "taux", "part ", "ratio", "%"))


def _constraint(name: str, value: str, spec: dict[str, Any], cell: str | None) -> str:
    constraints = spec.get("constraints") or {}
    match name:
        case "required":
            return "Cette cellule est obligatoire : remplissez-la."
        case "pattern":
            example = _example(spec)
            described = _first_sentence(str(spec.get("description") or ""))
            if example and described:
                return f"Écrivez-la comme « {example} » : {described}"
            if example:
                return f"Écrivez-la sous la même forme que l'exemple du schéma : « {example} »."
            if described:
                return f"Écrivez-la sous la forme que le schéma décrit : {described}"
            return (
                "Écrivez-la sous la forme que le schéma attend pour cette colonne (voir sa "
                "documentation, ou le modèle à remplir)."
            )
        case "enum":
            allowed = list(constraints.get("enum") or [])
            if not allowed:
                return "Choisissez une des valeurs que le schéma permet pour cette colonne."
            near = [v for v in allowed if cell and folded(str(v)) == folded(cell)]
            if len(near) == 1:
                return (
                    f"Seules les majuscules ou les accents diffèrent : écrivez « {near[0]} » "
                    "(les corrections sûres le font pour vous)."
                )
            return f"Choisissez une des valeurs permises : {french_list(allowed)}."
        case "maximum":
            if _percentage(spec) and value in ("1", "1.0") and _between(cell, 1, 100):
                return (
                    "La valeur doit être au plus 1 : ce pourcentage s'écrit en fraction de 1 "
                    "(25 % s'écrit 0.25, 100 % s'écrit 1)."
                )
            return f"La valeur doit être au plus {value}."
        case "minimum":
            return f"La valeur doit être au moins {value}."
        case "maxLength":
            return f"La valeur doit tenir en {value} caractères au plus."
        case "minLength":
            return f"La valeur doit compter au moins {value} caractères."
        case "unique":
            return "Chaque valeur de cette colonne doit être unique : corrigez le doublon."
    return (
        "La valeur doit respecter une règle du schéma pour cette colonne (voir sa documentation)."
    )


def _between(cell: str | None, low: float, high: float) -> bool:
    try:
        number = float(str(cell).replace(",", "."))
    except ValueError:
        return False
    return low < number <= high


FRENCH_TYPES = {
    "number": "un nombre",
    "integer": "un nombre entier",
    "date": "une date",
    "datetime": "une date et heure",
    "time": "une heure",
    "year": "une année",
    "boolean": "vrai ou faux",
    "geopoint": "des coordonnées",
    "array": "une liste",
    "object": "un objet JSON",
}


def describe(
    error_type: str, *, field: str | None, cell: str | None, note: str | None
) -> str | None:
    """The finding itself in French, for the frictionless kinds (custom checks speak French)."""
    column = f"« {field} »" if field else ""
    value = f"« {cell} »" if cell not in (None, "") else "La cellule vide"
    match error_type:
        case "extra-label":
            return f"La colonne {column} n'est pas dans le schéma."
        case "missing-label":
            return f"La colonne {column} du schéma est absente du fichier."
        case "blank-label":
            return "Une colonne n'a pas de nom dans la première ligne."
        case "duplicate-label":
            return f"Le nom de colonne {column} apparaît deux fois."
        case "blank-row":
            return "Cette ligne est entièrement vide."
        case "missing-cell":
            return f"Il manque la cellule de la colonne {column} sur cette ligne."
        case "extra-cell":
            return "Cette ligne a plus de cellules que l'en-tête n'a de colonnes."
        case "unique-error":
            return f"{value} figure déjà plus haut dans la colonne {column}."
        case "primary-key":
            return "Cette ligne répète l'identifiant d'une ligne précédente."
        case "type-error" if note and (m := _TYPE_NOTE.search(note)):
            expected = FRENCH_TYPES.get(m.group(1), m.group(1))
            return f"{value} n'est pas {expected}, comme l'attend la colonne {column}."
        case "constraint-error" if note and (m := _CONSTRAINT_NOTE.search(note)):
            return _broken(m.group(1), m.group(2), column, value)
        case "one-of-required" if note and "colonnes" in note:
            # The note keeps Validata's wording (and its quotes) for the tools that compare it.
            said = note.removeprefix("Une des deux colonnes requises : ")
            return _QUOTED.sub(r"« \1 »", said)
    return None


def _broken(name: str, limit: str, column: str, value: str) -> str:
    """A broken constraint in words; the schema's technical rule stays in the finding's note."""
    match name:
        case "required":
            return f"La colonne {column} est obligatoire et cette cellule est vide."
        case "pattern":
            return f"{value} n'a pas la forme attendue dans la colonne {column}."
        case "enum":
            return f"{value} n'est pas une des valeurs permises dans la colonne {column}."
        case "maximum":
            return f"{value} dépasse le maximum de la colonne {column} ({limit})."
        case "minimum":
            return f"{value} est sous le minimum de la colonne {column} ({limit})."
        case "maxLength":
            return f"{value} est trop long pour la colonne {column} ({limit} caractères au plus)."
        case "minLength":
            return f"{value} est trop court pour la colonne {column} ({limit} caractères au moins)."
        case "unique":
            return f"{value} figure déjà plus haut dans la colonne {column}."
    return f"{value} ne respecte pas une règle de la colonne {column}."
