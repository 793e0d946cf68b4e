"""The rules of French identifiers and places the custom checks apply: Luhn's key for SIREN and
SIRET (with La Poste's exception), INSEE commune codes, the subjects of acts (nomenclature
ACTES), and the boxes of France's territories for coordinates."""

import re

LA_POSTE_SIREN = "356000000"
ACTES = {
    "commande publique",
    "urbanisme",
    "domaine et patrimoine",
    "fonction publique",
    "institutions et vie politique",
    "libertes publiques et pouvoirs de police",
    "finances locales",
    "domaines de competences par themes",
    "autres domaines de competences",
}
# (name, west, east, south, north): France's territories, generous by a few kilometres.
TERRITORIES = [
    ("métropole et Corse", -5.3, 9.7, 41.2, 51.2),
    ("Guadeloupe", -61.9, -60.9, 15.8, 16.6),
    ("Martinique", -61.3, -60.7, 14.3, 14.9),
    ("Guyane", -54.7, -51.5, 2.1, 5.9),
    ("La Réunion", 55.1, 55.9, -21.5, -20.8),
    ("Mayotte", 44.9, 45.4, -13.1, -12.5),
    ("Saint-Pierre-et-Miquelon", -56.5, -56.1, 46.7, 47.2),
    ("Saint-Martin et Saint-Barthélemy", -63.2, -62.7, 17.8, 18.2),
    ("Polynésie française", -154.8, -134.8, -27.8, -7.8),
    ("Nouvelle-Calédonie", 163.5, 168.3, -22.9, -19.5),
    ("Wallis-et-Futuna", -178.3, -176.0, -14.4, -13.1),
]


def luhn(digits: str) -> bool:
    """The Luhn checksum SIREN and SIRET numbers carry."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def siren_ok(value: str) -> bool:
    """Nine digits with a valid Luhn key."""
    return re.fullmatch(r"[0-9]{9}", value) is not None and luhn(value)


def siret_ok(value: str) -> bool:
    """Fourteen digits with a valid Luhn key; La Poste's establishments sum to a multiple of 5."""
    if re.fullmatch(r"[0-9]{14}", value) is None:  # not isdigit(): « ² » is a digit to it
        return False
    if value.startswith(LA_POSTE_SIREN):
        return sum(int(d) for d in value) % 5 == 0
    return luhn(value)


# Départements: 01–19, 21–95, Corsica 2A/2B; overseas 971–976, written 97x + 2 digits.
_INSEE = re.compile(r"^(?:(?:0[1-9]|1\d|[3-8]\d|9[0-5]|2[1-9])\d{3}|2[AB]\d{3}|97[1-6]\d{2})$")


def insee_ok(value: str) -> bool:
    """A commune code of the Code officiel géographique: 5 characters, a real département."""
    return _INSEE.match(value) is not None


def territory(lon: float, lat: float) -> str | None:
    """The French territory containing the point, if any."""
    for name, west, east, south, north in TERRITORIES:
        if west <= lon <= east and south <= lat <= north:
            return name
    return None
