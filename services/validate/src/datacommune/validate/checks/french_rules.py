"""The rules of French identifiers and places the custom checks apply: Luhn's key for SIREN and
SIRET (with La Poste's exception), INSEE commune codes, the subjects of acts (nomenclature
ACTES), and the boxes of France's territories for coordinates (shared with catalog's maps)."""

import re

from datacommune.shared.geography import TERRITORIES, territory

__all__ = ["ACTES", "TERRITORIES", "insee_ok", "luhn", "siren_ok", "siret_ok", "territory"]

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
