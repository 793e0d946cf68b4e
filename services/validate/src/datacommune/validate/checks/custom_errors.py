"""The errors the custom checks report, with Validata's error types and French templates, so a
report reads the same here and on Validata."""

from frictionless import errors


class FrenchSiretError(errors.CellError):
    type = "french-siret-value"
    title = "SIRET invalide"
    description = "Un SIRET a 14 chiffres et une clé de contrôle (algorithme de Luhn)."
    template = "La valeur {cell} n'est pas un numéro SIRET français valide."


class FrenchSirenError(errors.CellError):
    type = "french-siren-value"
    title = "SIREN invalide"
    description = "Un SIREN a 9 chiffres et une clé de contrôle (algorithme de Luhn)."
    template = "La valeur {cell} n'est pas un numéro SIREN français valide."


class OpeningHoursError(errors.CellError):
    type = "opening-hours-value"
    title = "Horaires d'ouverture invalides"
    description = "Les horaires suivent la syntaxe opening_hours d'OpenStreetMap."
    template = "La valeur {cell} n'est pas une définition d'horaires d'ouverture correcte."


class YearIntervalError(errors.CellError):
    type = "year-interval-value"
    title = "Intervalle d'années invalide"
    description = "Une année, ou deux années séparées par « / », la première avant la seconde."
    template = "La valeur {cell} n'est pas un intervalle d'années valide : {note}."


class NomenclatureActesError(errors.CellError):
    type = "nomenclature-actes-value"
    title = "Nomenclature des actes invalide"
    description = "« Matière/sous-matière » selon la nomenclature Actes."
    template = "La valeur {cell} ne respecte pas la nomenclature des actes : {note}."


class FrenchGpsError(errors.CellError):
    type = "french-gps-coordinates"
    title = "Coordonnées hors de France"
    description = "Les coordonnées GPS indiquées ne se trouvent pas en France."
    template = "La valeur {cell} ne correspond pas à des coordonnées GPS françaises : {note}."


class ReversedGpsError(errors.CellError):
    type = "reversed-french-gps-coordinates"
    title = "Coordonnées GPS inversées"
    description = "Longitude et latitude semblent échangées."
    template = "La valeur {cell} correspond à des coordonnées françaises inversées : {note}."


class InseeCodeError(errors.CellError):
    type = "french-insee-code-value"
    title = "Code commune INSEE invalide"
    description = "5 caractères : le département (01 à 95, 2A, 2B, 971 à 976) puis la commune."
    template = "La valeur {cell} n'est pas un code commune INSEE valide."


class OneOfRequiredError(errors.RowError):
    type = "one-of-required"
    title = "Une des deux colonnes requise"
    description = "Au moins une des deux colonnes doit avoir une valeur."
    template = "{note}"


class CohesiveColumnsError(errors.RowError):
    type = "cohesive-columns-value"
    title = "Colonnes incohérentes"
    description = "Ces colonnes sont toutes remplies ou toutes vides."
    template = "{note}"


class CompareColumnsError(errors.RowError):
    type = "compare-columns-value"
    title = "Comparaison de colonnes non respectée"
    description = "La valeur d'une colonne doit se comparer ainsi à celle d'une autre."
    template = "{note}"


class SumColumnsError(errors.RowError):
    type = "sum-columns-value"
    title = "Somme de colonnes non respectée"
    description = "La valeur d'une colonne doit être la somme d'autres colonnes."
    template = "{note}"


class MissingColumnsError(errors.TableError):
    type = "one-of-required"
    title = "Une des deux colonnes requise"
    description = "Au moins une des deux colonnes doit être présente."
    template = "{note}"
