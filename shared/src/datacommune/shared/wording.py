"""Counted words, written right in French and in English: « 1 erreur », « 0 erreur »,
« 2 erreurs », « 1 error », « 0 errors »; never « 1 lignes »."""


def fr(n: int, singular: str, plural: str | None = None) -> str:
    """French counts: the singular for 0 and 1, as French writes them."""
    word = singular if abs(n) < 2 else (plural or singular + "s")
    return f"{n} {word}"


def en(n: int, singular: str, plural: str | None = None) -> str:
    """English counts: the singular for 1 only."""
    word = singular if abs(n) == 1 else (plural or singular + "s")
    return f"{n} {word}"
