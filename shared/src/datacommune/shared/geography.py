"""France's territories as boxes in WGS 84 degrees: whether a point lies in France, for
validate's coordinate checks and for the maps catalog draws."""

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


def territory(lon: float, lat: float) -> str | None:
    """The French territory containing the point, if any."""
    for name, west, east, south, north in TERRITORIES:
        if west <= lon <= east and south <= lat <= north:
            return name
    return None
