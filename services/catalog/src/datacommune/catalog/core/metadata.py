"""What a collectivité says about its dataset, in the DCAT-AP / DCAT-AP FR vocabulary."""

import functools
import re
from typing import Any, Literal

from markdown_it import MarkdownIt
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import Row

from datacommune.catalog.tables import Dataset
from datacommune.shared.fields import Day, Line, Text

# The EU's data themes (publications office « data-theme » authority table).
THEMES = {
    "AGRI": "Agriculture, pêche, sylviculture et alimentation",
    "ECON": "Économie et finances",
    "EDUC": "Éducation, culture et sport",
    "ENER": "Énergie",
    "ENVI": "Environnement",
    "GOVE": "Gouvernement et secteur public",
    "HEAL": "Santé",
    "INTR": "Questions internationales",
    "JUST": "Justice, système juridique et sécurité publique",
    "REGI": "Régions et villes",
    "SOCI": "Population et société",
    "TECH": "Science et technologie",
    "TRAN": "Transports",
}
LICENCES = {
    "etalab-2.0": "Licence Ouverte / Open Licence version 2.0",
    "odbl-1.0": "Open Database License (ODbL) 1.0",
    "cc-by-4.0": "Creative Commons Attribution 4.0",
    "cc0-1.0": "Creative Commons Zero 1.0",
}
LICENCE_URIS = {
    "etalab-2.0": "https://www.etalab.gouv.fr/licence-ouverte-open-licence",
    "odbl-1.0": "https://opendatacommons.org/licenses/odbl/1-0/",
    "cc-by-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "cc0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
}
Frequency = Literal[
    "continuous", "daily", "weekly", "monthly", "quarterly", "biannual", "annual", "irregular"
]
INSEE = r"^(\d{5}|2[AB]\d{3})$"

# Raw HTML is escaped and only safe link schemes are kept: a description is never a script.
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False})


def render(markdown: str) -> str:
    """A description's Markdown as HTML that is safe to show."""
    # Every listing renders each of its datasets' descriptions: the usual ones (short, and
    # the same from one search to the next) are rendered once per process.
    if len(markdown) <= _REMEMBERED_LENGTH:
        return _rendered(markdown)
    return str(_MARKDOWN.render(markdown))


_REMEMBERED_LENGTH = 8192


@functools.lru_cache(maxsize=1024)
def _rendered(markdown: str) -> str:
    return str(_MARKDOWN.render(markdown))


class DatasetPatch(BaseModel):
    """Metadata to change; fields left out stay as they are."""

    title: Line | None = Field(default=None, min_length=1, max_length=300)
    description: Text | None = Field(default=None, max_length=50_000)
    keywords: list[Line] | None = Field(default=None, max_length=50)
    theme: Literal[tuple(THEMES)] | None = None  # type: ignore[valid-type]
    licence: Literal[tuple(LICENCES)] | None = None  # type: ignore[valid-type]
    contact_point: Line | None = Field(default=None, max_length=300)
    spatial: list[str] | None = Field(default=None, max_length=1000)
    temporal_start: Day | None = None
    temporal_end: Day | None = None
    frequency: Frequency | None = None

    @model_validator(mode="after")
    def _check(self) -> "DatasetPatch":
        for name in ("title", "description", "licence", "keywords"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"« {name} » ne peut pas être vide (null)")
        if self.contact_point and not (
            re.fullmatch(r"[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+", self.contact_point)
            or re.fullmatch(r"https?://[^\s<>\"]+", self.contact_point)
        ):
            raise ValueError("contact : une adresse électronique ou une adresse web (https://…)")
        for code in self.spatial or []:
            if not re.fullmatch(INSEE, code):
                raise ValueError(f"{code!r} n'est pas un code INSEE de commune")
        if self.keywords and any(not k.strip() or len(k) > 100 for k in self.keywords):
            raise ValueError("mots-clés : 1 à 100 caractères chacun")
        if self.temporal_start and self.temporal_end and self.temporal_start > self.temporal_end:
            raise ValueError("la période commence après sa fin")
        return self


def apply(dataset: Dataset, patch: DatasetPatch) -> bool:
    """Set the fields the patch carries; whether any changed."""
    changed = False
    for name, value in patch.model_dump(exclude_unset=True).items():
        if name == "title" and value is None:
            continue
        if getattr(dataset, name) != value:
            setattr(dataset, name, value)
            changed = True
    return changed


def describe(dataset: Dataset | Row[*tuple[Any, ...]]) -> dict[str, Any]:
    """The metadata part of a dataset's public view."""
    return {
        "description": dataset.description,
        "description_html": render(dataset.description or ""),
        "keywords": dataset.keywords or [],
        "theme": dataset.theme,
        "theme_label": THEMES.get(dataset.theme or ""),
        "licence": dataset.licence,
        "licence_label": LICENCES.get(dataset.licence),
        "contact_point": dataset.contact_point,
        "spatial": dataset.spatial or [],
        "temporal": {
            "start": dataset.temporal_start.isoformat() if dataset.temporal_start else None,
            "end": dataset.temporal_end.isoformat() if dataset.temporal_end else None,
        },
        "frequency": dataset.frequency,
    }
