"""The JSON answers of the row routes, as the OpenAPI document shows them."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

# A cell is a string, a number, a boolean, a date (``AAAA-MM-JJ``) or null; the columns are
# the file's own, so a row is an open object.
Row = Annotated[
    dict[str, Any],
    Field(
        description="« _row » (son numéro dans le fichier, en-tête = 1) puis ses cellules ; "
        "une date en AAAA-MM-JJ / _row (its record number, header = 1) then its cells; a date "
        "as YYYY-MM-DD"
    ),
]


class Column(BaseModel):
    name: str
    type: str = Field(description="Son type Table Schema / its Table Schema type")


class Rows(BaseModel):
    """Une page de lignes filtrées et triées / a page of filtered, sorted rows."""

    version: str
    columns: list[Column]
    total: int | None = Field(
        description="Le nombre de lignes trouvées (exact, sauf total_estimated), aucun avec "
        "_count=false / the number of matching rows (exact unless total_estimated), none with "
        "_count=false"
    )
    total_estimated: bool = Field(
        default=False,
        description="Vrai quand compter prenait trop longtemps : total est alors estimé sur "
        "une ligne sur 97, ou absent / true when counting took too long: total is then "
        "estimated from one row in 97, or absent",
    )
    rows: list[Row]
    next_cursor: str | None
    next_url: str | None = Field(
        description="La page suivante ; aucune à la dernière / the next page; none on the last"
    )


# The JSON export: every matching row, in one array (streamed, so described, not validated).
EXPORT_JSON: dict[str, Any] = TypeAdapter(list[Row]).json_schema()


def _inlined(schema: Any, defs: dict[str, Any]) -> Any:
    """``schema`` with its ``#/$defs/…`` references replaced by what they name: inside an
    OpenAPI document such a reference would point at the document's root."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _inlined(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _inlined(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inlined(v, defs) for v in schema]
    return schema


class Feature(BaseModel):
    """Une ligne, sa géométrie tirée de ses colonnes / a row, its geometry from its columns."""

    type: Literal["Feature"]
    geometry: dict[str, Any] | None = Field(description="Point GeoJSON, ou aucun / or none")
    properties: Row


class FeatureCollection(BaseModel):
    """The GeoJSON export (RFC 7946): every matching row as a feature."""

    type: Literal["FeatureCollection"]
    features: list[Feature]


_GEOJSON = FeatureCollection.model_json_schema()
EXPORT_GEOJSON: dict[str, Any] = _inlined(_GEOJSON, _GEOJSON.get("$defs", {}))
