"""How the interoperability feeds describe a published file in words, the same in each (CKAN's
resource ``description``, DCAT's distribution ``dct:description``)."""

from datacommune.catalog.tables import Version


def version_summary(version: Version, kind: str) -> str:
    """« Fichier CSV, version 3 du 2026-12-05, conforme au schéma scdl-subventions@2.1.1. »"""
    text = f"Fichier {kind or 'publié'}, version {version.number}"
    text += f" du {version.published_at.date().isoformat()}"
    if version.schema_id:
        valid = "conforme au" if version.valid else "vérifié contre le"
        text += f", {valid} schéma {version.schema_id}"
    return text + "."
